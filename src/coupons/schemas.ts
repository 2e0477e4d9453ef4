/** The coupon JSON shape and its schema. */
import { type Static, Type } from 'typebox';
import { DateTime, Nullable, PageQuery, Uuid } from '../http/schemas.js';
import type { Coupon } from './model.js';

export const CouponSchema = Type.Object(
  {
    id: Uuid,
    campaignId: Uuid,
    userId: Nullable(Type.String()),
    code: Nullable(Type.String()),
    status: Type.String({ description: 'issued | redeemed | expired | revoked' }),
    issuedAt: DateTime,
    expiresAt: Nullable(DateTime),
    redeemedAt: Nullable(DateTime),
  },
  { $id: 'Coupon' },
);
export type CouponJson = Static<typeof CouponSchema>;

export const CouponPageSchema = Type.Object({
  items: Type.Array(CouponSchema),
  nextCursor: Nullable(Type.String()),
});

export const MyCouponsQuery = Type.Object({
  ...PageQuery,
  userId: Type.Optional(
    Type.String({ minLength: 1, maxLength: 128, description: 'admin/service only: list this user' }),
  ),
});

export function couponJson(coupon: Coupon): CouponJson {
  return {
    id: coupon.id,
    campaignId: coupon.campaignId,
    userId: coupon.userId,
    code: coupon.code,
    status: coupon.status,
    issuedAt: coupon.issuedAt.toISOString(),
    expiresAt: coupon.expiresAt?.toISOString() ?? null,
    redeemedAt: coupon.redeemedAt?.toISOString() ?? null,
  };
}
