import { describe, expect, it } from 'vitest';
import { discountFor, redemptionRejection } from './rules.js';

describe('discountFor', () => {
  it.each([
    [{ type: 'fixed', amount: 1000 } as const, 5000, 1000],
    [{ type: 'fixed', amount: 1000 } as const, 400, 400],
    [{ type: 'percent', percent: 10 } as const, 12_345, 1234],
    [{ type: 'percent', percent: 10, maxAmount: 500 } as const, 12_345, 500],
    [{ type: 'percent', percent: 100 } as const, 700, 700],
    [{ type: 'fixed', amount: 1000 } as const, 0, 0],
  ])('gives %o on an order of %i a discount of %i', (discount, orderAmount, expected) => {
    expect(discountFor(discount, orderAmount)).toBe(expected);
  });
});

describe('redemptionRejection', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const issued = {
    couponStatus: 'issued',
    userId: 'u1',
    expiresAt: null,
    campaignStatus: 'active',
    campaignDeleted: false,
    minOrderAmount: null,
  };

  it('admits an issued, unexpired coupon of its owner', () => {
    expect(redemptionRejection(issued, 'u1', 100, now)).toBeUndefined();
  });

  it.each([
    ['an unknown coupon', undefined, 'u1', 'not-found'],
    ["another user's coupon", issued, 'u2', 'not-found'],
    ['a deleted campaign', { ...issued, campaignDeleted: true }, 'u1', 'not-found'],
    ['a coupon of a draft campaign (issue 12)', { ...issued, campaignStatus: 'draft' }, 'u1', 'not-found'],
    ['a redeemed coupon', { ...issued, couponStatus: 'redeemed' }, 'u1', 'already-redeemed'],
    ['a revoked coupon', { ...issued, couponStatus: 'revoked' }, 'u1', 'coupon-revoked'],
    ['an expired coupon', { ...issued, expiresAt: new Date('2025-12-31T00:00:00Z') }, 'u1', 'coupon-expired'],
    ['a suspended campaign', { ...issued, campaignStatus: 'suspended' }, 'u1', 'campaign-not-active'],
    ['a small order', { ...issued, minOrderAmount: 500 }, 'u1', 'order-amount-too-low'],
  ])('rejects %s', (_label, state, userId, code) => {
    expect(redemptionRejection(state, userId, 100, now)?.code).toBe(code);
  });
});
