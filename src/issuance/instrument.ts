/**
 * Measures claims without touching them: a decorator around any {@link IssuanceStrategy}.
 * Outcomes are `issued` / `pending`, the DomainError code of a rejection, or `error` for anything
 * else (src/metrics/observe.ts).
 */
import { metrics } from '../metrics/metrics.js';
import { failureOutcome } from '../metrics/observe.js';
import { decorateClaim } from './strategies/decorate.js';
import type { ClaimOutcome, ClaimRequest, IssuanceStrategy } from './strategies/types.js';

/**
 * Returns a strategy that behaves exactly like `strategy` and counts each claim in
 * `stampede_claims_total{strategy,outcome}` and its duration in `stampede_claim_duration_seconds`.
 * Every other member (optional hooks of particular strategies) is the original's, bound to it.
 */
export function instrumentStrategy<S extends IssuanceStrategy>(strategy: S): S {
  const labels = { strategy: strategy.name };
  const claim = async (request: ClaimRequest): Promise<ClaimOutcome> => {
    const stopTimer = metrics.claimDuration.startTimer(labels);
    try {
      const outcome = await strategy.claim(request);
      metrics.claims.inc({ ...labels, outcome: outcome.status });
      return outcome;
    } catch (error) {
      metrics.claims.inc({ ...labels, outcome: failureOutcome(error) });
      throw error;
    } finally {
      stopTimer();
    }
  };
  return decorateClaim(strategy, claim);
}
