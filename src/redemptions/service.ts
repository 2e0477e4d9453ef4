/**
 * Redemption use cases. Each function takes the database or a transaction first, so the
 * idempotency layer can run it inside the transaction that also stores the response.
 *
 * A coupon is named by its id or by a code: a generated code (one coupon, single use) or a
 * campaign's shared code (src/codes/shared.ts: issue the user a coupon, then redeem it).
 */
import { findCouponIdByCode, findSharedCodeCampaign, findUnredeemedCoupon } from '../codes/shared.js';
import { type Db, pgError, SQLSTATE } from '../db/client.js';
import { timeOrderedId } from '../db/ids.js';
import { REDEEMED_WITHIN_BUDGET } from '../db/schema.js';
import { DomainError } from '../errors.js';
import { claimRejection } from '../issuance/rules.js';
import { claimStateFromRow, issueAtomically, retryOnClaimRace } from '../issuance/sql.js';
import {
  chargeCampaign,
  findRedemption,
  insertRedemption,
  markCouponRedeemed,
  type Redemption,
  readRedemptionState,
  rollBackRedemption,
} from './repository.js';
import { discountFor, redemptionRejection } from './rules.js';

export interface RedeemInput {
  couponId: string;
  userId: string;
  orderId: string;
  orderAmount: number;
}

/** A redemption request naming the coupon by id or by code. */
export type RedeemTarget = Omit<RedeemInput, 'couponId'> & ({ couponId: string } | { code: string });

/**
 * Redeems a coupon for an order and returns the redemption with the discount applied.
 * @throws DomainError `not-found`, `already-redeemed`, `coupon-expired`, `coupon-revoked`,
 *   `campaign-not-active`, `order-amount-too-low`, `budget-exhausted` (the discount would take the
 *   campaign's redeemed amount past its budget; nothing is written).
 */
export function redeemCoupon(db: Db, input: RedeemInput): Promise<Redemption> {
  return db.transaction(async (tx) => {
    const redeemed = await markCouponRedeemed(tx, input.couponId, input.userId, input.orderAmount);
    if (!redeemed) {
      const { state, now } = await readRedemptionState(tx, input.couponId);
      throw (
        redemptionRejection(state, input.userId, input.orderAmount, now) ??
        new DomainError('already-redeemed', 'the coupon changed concurrently')
      );
    }
    const discountAmount = discountFor(redeemed.discount, input.orderAmount);
    try {
      const redemption = await insertRedemption(tx, { ...input, discountAmount });
      // Last, so the campaign row is locked only until the commit.
      await chargeCampaign(tx, redeemed.campaignId, discountAmount, redemption);
      return redemption;
    } catch (error) {
      const pg = pgError(error);
      if (pg?.code === SQLSTATE.checkViolation && pg.constraint === REDEEMED_WITHIN_BUDGET) {
        throw new DomainError(
          'budget-exhausted',
          `a discount of ${discountAmount} exceeds the campaign's remaining budget`,
        );
      }
      // Unreachable while markCouponRedeemed holds; the index is the last guard if it ever does not.
      if (pg?.code === SQLSTATE.uniqueViolation) throw new DomainError('already-redeemed');
      throw error;
    }
  });
}

/**
 * Redeems by coupon id, generated code or shared code.
 * @throws DomainError as {@link redeemCoupon}, plus `sold-out` (a shared code's total reached);
 *   `not-found` for an unknown code or one of a deleted campaign.
 */
export function redeem(db: Db, target: RedeemTarget): Promise<Redemption> {
  if ('couponId' in target) return redeemCoupon(db, target);
  const { code, ...rest } = target;
  return db.transaction(async (tx) => {
    const sharedCampaignId = await findSharedCodeCampaign(tx, code);
    if (sharedCampaignId) return redeemSharedCode(tx, sharedCampaignId, rest);
    const couponId = await findCouponIdByCode(tx, code);
    if (!couponId) throw new DomainError('not-found', 'no such code');
    return redeemCoupon(tx, { ...rest, couponId });
  });
}

/** Issues `input.userId` a coupon of the shared code's campaign and redeems it (src/codes/shared.ts). */
async function redeemSharedCode(
  db: Db,
  campaignId: string,
  input: Omit<RedeemInput, 'couponId'>,
): Promise<Redemption> {
  // A retry follows only a same-user slot race; the user may then hold an unredeemed coupon.
  const result = await retryOnClaimRace(async () => {
    const held = await findUnredeemedCoupon(db, campaignId, input.userId);
    if (held) return { kind: 'held' as const, couponId: held };
    // A savepoint: a slot collision must not abort the caller's transaction.
    return db.transaction((sp) => issueAtomically(sp, campaignId, input.userId, timeOrderedId()));
  });
  if (result.kind === 'held') return redeemCoupon(db, { ...input, couponId: result.couponId });
  if (result.kind === 'issued') return redeemCoupon(db, { ...input, couponId: result.coupon.id });
  if (result.kind === 'unknown-campaign') throw new DomainError('not-found', 'no such code');
  const state = claimStateFromRow(result.state);
  const rejection = claimRejection(state, result.state.held, state.now);
  if (rejection?.code === 'already-claimed') {
    throw new DomainError('already-redeemed', 'this user has already redeemed this shared code');
  }
  throw rejection ?? new Error('shared code issue rejected for no known reason');
}

/** The answer of {@link validateRedemption}. */
export type Validation =
  | { valid: true; discountAmount: number }
  | { valid: false; reason: DomainError['code']; detail: string };

/** Thrown to roll back the dry run of {@link validateRedemption}. */
class DryRun extends Error {
  constructor(readonly redemption: Redemption) {
    super('dry run');
  }
}

/**
 * Whether `target` could be redeemed now and the discount it would give, changing nothing: the
 * redemption runs for real inside a transaction that is then rolled back, so the answer follows
 * exactly the rules of {@link redeem}. (It takes the same row locks for that moment.)
 */
export async function validateRedemption(db: Db, target: RedeemTarget): Promise<Validation> {
  try {
    await db.transaction(async (tx) => {
      throw new DryRun(await redeem(tx, target));
    });
  } catch (error) {
    if (error instanceof DryRun) return { valid: true, discountAmount: error.redemption.discountAmount };
    if (error instanceof DomainError) return { valid: false, reason: error.code, detail: error.message };
    throw error;
  }
  throw new Error('unreachable: the dry run always throws');
}

/**
 * Undoes a completed redemption: the coupon becomes `issued` again and can be redeemed anew.
 * @throws DomainError `not-found`, `already-rolled-back`.
 */
export function rollbackRedemption(db: Db, redemptionId: string): Promise<Redemption> {
  return db.transaction(async (tx) => {
    const undone = await rollBackRedemption(tx, redemptionId);
    if (undone) return undone;
    const existing = await findRedemption(tx, redemptionId);
    if (!existing) throw new DomainError('not-found', `redemption ${redemptionId} does not exist`);
    throw new DomainError('already-rolled-back');
  });
}
