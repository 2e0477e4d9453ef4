/**
 * `db-atomic`: one conditional UPDATE of the campaign's `issued_count` and the coupon INSERT in a
 * single statement (DESIGN.md strategy 2). The default of the embedded mode.
 */

import { couponFromRow } from '../../coupons/model.js';
import { type Db, pgError, SQLSTATE } from '../../db/client.js';
import { DomainError } from '../../errors.js';
import { claimRejection } from '../rules.js';
import { claimStateFromRow, issueAtomically } from '../sql.js';
import type { ClaimOutcome, ClaimRequest, IssuanceStrategy } from './types.js';

/**
 * Bound on statement attempts per claim. A retry happens only when a concurrent commit made the
 * snapshot stale: a slot taken by the same user's parallel claim, or the last unit taken. Each
 * slot collision means one more coupon of that user has committed, so a claim collides at most
 * per-user-limit times before it sees the limit reached; 100 is the largest limit the API accepts
 * (src/campaigns/schemas.ts), plus a margin for the stock case.
 */
const MAX_ATTEMPTS = 100 + 5;

export class DbAtomicStrategy implements IssuanceStrategy {
  readonly name = 'db-atomic' as const;

  constructor(private readonly db: Db) {}

  async claim({ campaignId, userId, claimId }: ClaimRequest): Promise<ClaimOutcome> {
    for (let attempt = 1; ; attempt++) {
      let result: Awaited<ReturnType<typeof issueAtomically>>;
      try {
        result = await issueAtomically(this.db, campaignId, userId, claimId);
      } catch (error) {
        const pg = pgError(error);
        const slotTaken =
          pg?.code === SQLSTATE.uniqueViolation && pg.constraint === 'coupons_user_slot_unique';
        if (slotTaken && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
      if (result.kind === 'issued')
        return { status: 'issued', claimId, coupon: couponFromRow(result.coupon) };
      if (result.kind === 'unknown-campaign')
        throw new DomainError('not-found', `campaign ${campaignId} does not exist`);
      const state = claimStateFromRow(result.state);
      const rejection = claimRejection(state, result.state.held, state.now);
      if (rejection) throw rejection;
      // The snapshot allowed the claim but the locked row did not: a concurrent commit; look again.
      if (attempt >= MAX_ATTEMPTS)
        throw new DomainError('sold-out', 'the campaign stock changed under contention');
    }
  }
}
