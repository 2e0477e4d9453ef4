/**
 * Coupon reads: a user's coupons ("my coupons") with keyset pagination on (issued_at desc, id desc),
 * served by the index coupons_user_issued_idx.
 */
import { sql } from 'drizzle-orm';
import { type Db, queryRows } from '../db/client.js';
import { COUPON_COLUMNS, type Coupon, type CouponRow, couponFromRow } from './model.js';

export interface CouponCursor {
  issuedAt: Date;
  id: string;
}

/** Up to `limit` coupons of `userId`, newest first, strictly after `cursor`. Deleted campaigns' coupons are hidden. */
export async function listUserCoupons(
  db: Db,
  userId: string,
  options: { limit: number; cursor?: CouponCursor | undefined },
): Promise<Coupon[]> {
  const after = options.cursor
    ? sql`AND (c.issued_at, c.id) < (${options.cursor.issuedAt.toISOString()}::timestamptz, ${options.cursor.id}::uuid)`
    : sql``;
  const rows = await queryRows<CouponRow>(
    db,
    sql`SELECT ${sql.raw(prefixed('c'))} FROM coupons c
        WHERE c.user_id = ${userId} ${after}
          AND EXISTS (SELECT 1 FROM campaigns k WHERE k.id = c.campaign_id AND k.deleted_at IS NULL)
        ORDER BY c.issued_at DESC NULLS LAST, c.id DESC NULLS LAST
        LIMIT ${options.limit}`,
  );
  return rows.map((row) => couponFromRow(row));
}

export async function findCoupon(db: Db, id: string): Promise<Coupon | undefined> {
  const rows = await queryRows<CouponRow>(
    db,
    sql`SELECT ${sql.raw(COUPON_COLUMNS)} FROM coupons WHERE id = ${id}`,
  );
  return rows[0] && couponFromRow(rows[0]);
}

function prefixed(alias: string): string {
  return COUPON_COLUMNS.split(', ')
    .map((column) => `${alias}.${column}`)
    .join(', ');
}
