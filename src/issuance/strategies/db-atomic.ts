/**
 * `db-atomic`: one conditional UPDATE of the campaign's `issued_count` and the coupon INSERT in a
 * single statement (DESIGN.md strategy 2). The reference single-claim statement: db-batch (the
 * default) falls back to it claim by claim, and redis-lock runs it under its lock.
 */

import { couponFromRow } from '../../coupons/model.js';
import type { Db } from '../../db/client.js';
import { DomainError } from '../../errors.js';
import { claimRejection } from '../rules.js';
import { claimStateFromRow, issueAtomically, retryOnClaimRace } from '../sql.js';
import type { ClaimOutcome, ClaimRequest, IssuanceStrategy } from './types.js';

export class DbAtomicStrategy implements IssuanceStrategy {
  readonly name = 'db-atomic' as const;

  constructor(private readonly db: Db) {}

  async claim({ campaignId, userId, claimId }: ClaimRequest): Promise<ClaimOutcome> {
    const result = await retryOnClaimRace(() => issueAtomically(this.db, campaignId, userId, claimId));
    if (result.kind === 'issued') return { status: 'issued', claimId, coupon: couponFromRow(result.coupon) };
    if (result.kind === 'unknown-campaign')
      throw new DomainError('not-found', `campaign ${campaignId} does not exist`);
    // The statement decided on the snapshot it returns, so the rule always names the reason.
    const state = claimStateFromRow(result.state);
    throw (
      claimRejection(state, result.state.held, state.now) ?? new Error('claim rejected for no known reason')
    );
  }
}
