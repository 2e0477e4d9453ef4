/**
 * The claim rule as a pure function, shared by every strategy: a claim is admitted when the
 * campaign is active and inside its window, has stock left, and the user holds fewer coupons of it
 * than the per-user limit. Strategies enforce it atomically (SQL or Lua); this function names the
 * reason of a rejection. A draft campaign is `not-found`.
 */
import { claimWindowProblem } from '../campaigns/model.js';
import { DomainError } from '../errors.js';

/** The campaign fields the rule reads. */
export interface ClaimState {
  status: string;
  startsAt: Date | null;
  endsAt: Date | null;
  totalQuantity: number;
  issuedCount: number;
  perUserLimit: number;
}

/** The rejection for a claim by a user holding `heldByUser` coupons, or undefined to admit it. */
export function claimRejection(state: ClaimState, heldByUser: number, now: Date): DomainError | undefined {
  // A draft is unpublished: claims and shared codes answer as GET /v1/campaigns/{id} does to
  // non-admins, so the answer never tells that the campaign exists (the strategies judging the
  // claim do not know the principal, so admins get the same).
  if (state.status === 'draft') return new DomainError('not-found', 'the campaign does not exist');
  const windowProblem = claimWindowProblem(state as Parameters<typeof claimWindowProblem>[0], now);
  if (windowProblem) return new DomainError('campaign-not-active', windowProblem);
  if (heldByUser >= state.perUserLimit) {
    return new DomainError(
      'already-claimed',
      `the user already holds ${heldByUser} of ${state.perUserLimit} allowed`,
    );
  }
  if (state.issuedCount >= state.totalQuantity) {
    return new DomainError('sold-out', `all ${state.totalQuantity} coupons have been issued`);
  }
  return undefined;
}
