/**
 * Redemption rules as pure functions: the discount an order gets, and why a coupon cannot be
 * redeemed. Amounts are integers in minor currency units (cents).
 */
import type { Discount } from '../campaigns/model.js';
import { DomainError } from '../errors.js';

/**
 * The discount for an order of `orderAmount`: a fixed amount capped at the order amount, or
 * `floor(orderAmount × percent / 100)` capped at `maxAmount`. Never negative, never above the order.
 */
export function discountFor(discount: Discount, orderAmount: number): number {
  if (discount.type === 'fixed') return Math.min(discount.amount, orderAmount);
  const raw = Math.floor((orderAmount * discount.percent) / 100);
  return Math.min(raw, discount.maxAmount ?? raw, orderAmount);
}

/** What the rule needs to know about a coupon and its campaign. */
export interface RedemptionState {
  couponStatus: string;
  userId: string | null;
  expiresAt: Date | null;
  campaignStatus: string;
  campaignDeleted: boolean;
  minOrderAmount: number | null;
}

/** Campaign statuses in which issued coupons may be redeemed (`ended` closes claims only). */
export const REDEEMABLE_CAMPAIGN_STATUSES = ['active', 'ended'] as const;

/** The rejection of a redemption by `userId` at `now`, or undefined when it may proceed. */
export function redemptionRejection(
  state: RedemptionState | undefined,
  userId: string,
  orderAmount: number,
  now: Date,
): DomainError | undefined {
  // Another user's coupon is reported as unknown: its existence is none of the caller's business.
  // An owner-less coupon (a generated code) belongs to whoever presents it.
  // A draft's coupons (codes generated ahead of launch) are unknown too, as the draft itself is.
  if (
    !state ||
    state.campaignDeleted ||
    state.campaignStatus === 'draft' ||
    (state.userId !== null && state.userId !== userId)
  ) {
    return new DomainError('not-found', 'no such coupon for this user');
  }
  if (state.couponStatus === 'redeemed') return new DomainError('already-redeemed');
  if (state.couponStatus === 'revoked') return new DomainError('coupon-revoked');
  if (state.expiresAt && state.expiresAt <= now) {
    return new DomainError('coupon-expired', `the coupon expired at ${state.expiresAt.toISOString()}`);
  }
  if (!(REDEEMABLE_CAMPAIGN_STATUSES as readonly string[]).includes(state.campaignStatus)) {
    return new DomainError('campaign-not-active', `the campaign is ${state.campaignStatus}`);
  }
  if (state.minOrderAmount !== null && orderAmount < state.minOrderAmount) {
    return new DomainError(
      'order-amount-too-low',
      `the campaign needs an order of at least ${state.minOrderAmount}`,
    );
  }
  return undefined;
}
