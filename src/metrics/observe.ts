/**
 * Measuring domain operations from the outside: the outcome label of a failure, and a wrapper
 * that counts and times redemption transactions. Outcomes are `completed`, the {@link DomainError}
 * code of a rejection, or `error` for anything else.
 */
import { DomainError } from '../errors.js';
import { metrics } from './metrics.js';

/** The outcome label of a failed operation: its domain code, or `error` when unexpected. */
export function failureOutcome(error: unknown): string {
  return error instanceof DomainError ? error.code : 'error';
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
