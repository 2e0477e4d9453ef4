/**
 * The coupon domain object. A coupon is issued to a user by a claim (its id is the claim id), or
 * pre-generated with a 16-character code. Stored status is issued | redeemed | revoked; `expired`
 * is derived from `expiresAt` when the coupon is read.
 */
import { asDate, asDateOrNull } from '../db/client.js';

export const COUPON_STATUSES = ['issued', 'redeemed', 'expired', 'revoked'] as const;
export type CouponStatus = (typeof COUPON_STATUSES)[number];

export interface Coupon {
  id: string;
  campaignId: string;
  userId: string | null;
  code: string | null;
  status: CouponStatus;
  issuedAt: Date;
  expiresAt: Date | null;
  redeemedAt: Date | null;
}

/** A coupons row as returned by raw SQL (snake_case) or Drizzle (camelCase). */
export interface CouponRow {
  id: string;
  campaign_id: string;
  user_id: string | null;
  code: string | null;
  status: string;
  issued_at: Date | string;
  expires_at: Date | string | null;
  redeemed_at: Date | string | null;
}

/** Maps a row to a coupon, deriving `expired` at `now`. */
export function couponFromRow(row: CouponRow, now: Date = new Date()): Coupon {
  const expiresAt = asDateOrNull(row.expires_at);
  const stored = row.status as CouponStatus;
  return {
    id: row.id,
    campaignId: row.campaign_id,
    userId: row.user_id,
    code: row.code,
    status: stored === 'issued' && expiresAt !== null && expiresAt <= now ? 'expired' : stored,
    issuedAt: asDate(row.issued_at),
    expiresAt,
    redeemedAt: asDateOrNull(row.redeemed_at),
  };
}

/** The columns every coupon query returns, in {@link CouponRow} shape. */
export const COUPON_COLUMNS = 'id, campaign_id, user_id, code, status, issued_at, expires_at, redeemed_at';
