/**
 * Redemption use cases. Each function takes the database or a transaction first, so the
 * idempotency layer can run it inside the transaction that also stores the response.
 */
import { type Db, pgError, SQLSTATE } from '../db/client.js';
import { DomainError } from '../errors.js';
import {
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

/**
 * Redeems a coupon for an order and returns the redemption with the discount applied.
 * @throws DomainError `not-found`, `already-redeemed`, `coupon-expired`, `coupon-revoked`,
 *   `campaign-not-active`, `order-amount-too-low`.
 */
export function redeemCoupon(db: Db, input: RedeemInput): Promise<Redemption> {
  return db.transaction(async (tx) => {
    const discount = await markCouponRedeemed(tx, input.couponId, input.userId, input.orderAmount);
    if (!discount) {
      const { state, now } = await readRedemptionState(tx, input.couponId);
      throw (
        redemptionRejection(state, input.userId, input.orderAmount, now) ??
        new DomainError('already-redeemed', 'the coupon changed concurrently')
      );
    }
    try {
      return await insertRedemption(tx, {
        ...input,
        discountAmount: discountFor(discount, input.orderAmount),
      });
    } catch (error) {
      // Unreachable while markCouponRedeemed holds; the index is the last guard if it ever does not.
      if (pgError(error)?.code === SQLSTATE.uniqueViolation) throw new DomainError('already-redeemed');
      throw error;
    }
  });
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
