/** Coupon reads by id. Listing and searching live in search.ts. */
import { sql } from 'drizzle-orm';
import { type Db, queryRows } from '../db/client.js';
import { COUPON_COLUMNS, type Coupon, type CouponRow, couponFromRow } from './model.js';

export async function findCoupon(db: Db, id: string): Promise<Coupon | undefined> {
  const rows = await queryRows<CouponRow>(
    db,
    sql`SELECT ${sql.raw(COUPON_COLUMNS)} FROM coupons WHERE id = ${id}`,
  );
  return rows[0] && couponFromRow(rows[0]);
}
