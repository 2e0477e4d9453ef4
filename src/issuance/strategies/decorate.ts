/**
 * Decorating a strategy's `claim` (metrics, cache pre-checks) while every other member — the
 * optional hooks some strategies have — stays the original's, bound to it.
 */
import type { ClaimOutcome, ClaimRequest, IssuanceStrategy } from './types.js';

export function decorateClaim<S extends IssuanceStrategy>(
  strategy: S,
  claim: (request: ClaimRequest) => Promise<ClaimOutcome>,
): S {
  return new Proxy(strategy, {
    get(target, property) {
      if (property === 'claim') return claim;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
