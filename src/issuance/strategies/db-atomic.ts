/**
 * `db-atomic`: one conditional UPDATE of the campaign's `issued_count` and the coupon INSERT in a
 * single statement (DESIGN.md strategy 2). The default of the embedded mode.
 */

import { couponFromRow } from '../../coupons/model.js';
import type { Db } from '../../db/client.js';
import { DomainError } from '../../errors.js';
import { claimRejection } from '../rules.js';
import { claimRace, claimStateFromRow, issueAtomically } from '../sql.js';
import type { ClaimOutcome, ClaimRequest, IssuanceStrategy } from './types.js';

/**
 * Bound on statement attempts per claim. A retry happens only when the same user's parallel claim
 * took the slot computed from the snapshot. Each such collision means one more coupon of that user
 * has committed, so a claim collides at most per-user-limit times before it sees the limit
 * reached; 100 is the largest limit the API accepts (src/campaigns/schemas.ts), plus a margin.
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
        const race = claimRace(error);
        if (race === 'sold-out')
          throw new DomainError('sold-out', 'the last coupons went while this claim was decided');
        if (race === 'slot-taken' && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
      if (result.kind === 'issued')
        return { status: 'issued', claimId, coupon: couponFromRow(result.coupon) };
      if (result.kind === 'unknown-campaign')
        throw new DomainError('not-found', `campaign ${campaignId} does not exist`);
      // The statement decided on the snapshot it returns, so the rule always names the reason.
      const state = claimStateFromRow(result.state);
      throw (
        claimRejection(state, result.state.held, state.now) ?? new Error('claim rejected for no known reason')
      );
    }
  }
}
