/**
 * `db-lock`: pessimistic locking (seed 003, V1). `SELECT … FOR UPDATE` on the campaign row,
 * check the rule in the application, insert the coupon and bump `issued_count`, commit. Claims on
 * one campaign are fully serialized for the whole transaction (several round trips), which is why
 * it is slower than db-atomic; it is kept as the reference and for comparison.
 */

import { couponFromRow } from '../../coupons/model.js';
import type { Db } from '../../db/client.js';
import { DomainError } from '../../errors.js';
import { claimRejection } from '../rules.js';
import { claimStateFromRow, insertCouponUnderLock, lockCampaignForClaim } from '../sql.js';
import type { ClaimOutcome, ClaimRequest, IssuanceStrategy } from './types.js';

export class DbLockStrategy implements IssuanceStrategy {
  readonly name = 'db-lock' as const;

  constructor(private readonly db: Db) {}

  claim({ campaignId, userId, claimId }: ClaimRequest): Promise<ClaimOutcome> {
    return this.db.transaction(async (tx) => {
      const state = await lockCampaignForClaim(tx, campaignId, userId);
      if (!state) throw new DomainError('not-found', `campaign ${campaignId} does not exist`);
      const claimState = claimStateFromRow(state);
      const rejection = claimRejection(claimState, state.held, claimState.now);
      if (rejection) throw rejection;
      const row = await insertCouponUnderLock(tx, campaignId, userId, claimId, state.held + 1);
      return { status: 'issued', claimId, coupon: couponFromRow(row) };
    });
  }
}
