/**
 * Measures the domain operations without touching them: a decorator around any
 * {@link IssuanceStrategy} and a wrapper for redemption transactions. Outcomes are `issued` /
 * `pending` / `completed`, the {@link DomainError} code of a rejection, or `error` for anything else.
 */
import { DomainError } from '../errors.js';
import { decorateClaim } from '../issuance/strategies/decorate.js';
import type { ClaimOutcome, ClaimRequest, IssuanceStrategy } from '../issuance/strategies/types.js';
import { metrics } from './metrics.js';

/** The outcome label of a failed operation: its domain code, or `error` when unexpected. */
export function failureOutcome(error: unknown): string {
  return error instanceof DomainError ? error.code : 'error';
}

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

/** Runs one redemption or rollback, counting it in `stampede_redemptions_total` and timing it. */
export async function observeRedemption<T>(
  operation: 'redeem' | 'rollback',
  run: () => Promise<T>,
): Promise<T> {
  const stopTimer = metrics.redemptionDuration.startTimer({ operation });
  try {
    const result = await run();
    metrics.redemptions.inc({ operation, outcome: 'completed' });
    return result;
  } catch (error) {
    metrics.redemptions.inc({ operation, outcome: failureOutcome(error) });
    throw error;
  } finally {
    stopTimer();
  }
}
