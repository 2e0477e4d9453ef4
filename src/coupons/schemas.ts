/** The coupon JSON shape and its schema. */
import { type Static, Type } from 'typebox';
import { DateTime, Nullable, PageQuery, SafeString, UserId, Uuid } from '../http/schemas.js';
import { COUPON_STATUSES, type Coupon } from './model.js';

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
  userId: Type.Optional({ ...UserId, description: 'admin/service only: list this user' }),
});

export const CouponSearchQuery = Type.Object(
  {
    ...PageQuery,
    campaignId: Type.Optional(Uuid),
    userId: Type.Optional(UserId),
    code: Type.Optional(SafeString({ minLength: 1, maxLength: 128 })),
    status: Type.Optional(Type.Union(COUPON_STATUSES.map((status) => Type.Literal(status)))),
    issuedFrom: Type.Optional({ ...DateTime, description: 'issued at or after (inclusive)' }),
    issuedTo: Type.Optional({ ...DateTime, description: 'issued before (exclusive)' }),
    redeemedFrom: Type.Optional({
      ...DateTime,
      description: 'redeemed at or after; orders by redemption time',
    }),
    redeemedTo: Type.Optional({ ...DateTime, description: 'redeemed before (exclusive)' }),
  },
  { additionalProperties: false },
);

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
