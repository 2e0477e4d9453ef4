/**
 * Redemption look-up for admins (`GET /v1/redemptions`): the redemptions of a coupon (by id or by
 * its generated code) or of an order, each with its coupon's campaign, newest first with keyset
 * pagination on `(created_at, id)` (src/db/keyset.ts).
 *
 * Every search names a coupon or an order, so each page reads few rows: by coupon through
 * redemptions_coupon_idx (a coupon has one completed redemption and its rolled-back ones), by
 * code through coupons_code_unique then that index, by order through redemptions_order_idx, which
 * is in the keyset order. Redemptions of soft-deleted campaigns are hidden, as in the coupon
 * search (src/coupons/search.ts).
 */
import { type SQL, sql } from 'drizzle-orm';
import { type Db, queryRows } from '../db/client.js';
import { encodeCursor, type KeysetPosition } from '../db/keyset.js';
import { type Redemption, type RedemptionRow, redemptionFromRow } from './repository.js';

/** What a look-up names; at least one is given (the route checks), all given must match. */
export interface RedemptionSearch {
  couponId?: string | undefined;
  /** A generated code (one coupon). */
  code?: string | undefined;
  orderId?: string | undefined;
}

/** A redemption with its coupon's code and campaign. */
export interface RedemptionFound extends Redemption {
  couponCode: string | null;
  campaignId: string;
  campaignName: string;
}

interface FoundRow extends RedemptionRow {
  coupon_code: string | null;
  campaign_id: string;
  campaign_name: string;
  sort_at: string;
}

/** The SELECT for one page (exported so a test can EXPLAIN exactly what the API runs). */
export function redemptionSearchQuery(filters: RedemptionSearch, limit: number, after?: KeysetPosition): SQL {
  const conditions: SQL[] = [sql`k.deleted_at IS NULL`];
  if (filters.couponId) conditions.push(sql`r.coupon_id = ${filters.couponId}`);
  if (filters.code) conditions.push(sql`c.code = ${filters.code}`);
  if (filters.orderId) conditions.push(sql`r.order_id = ${filters.orderId}`);
  if (after) conditions.push(sql`(r.created_at, r.id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
  return sql`SELECT r.id, r.coupon_id, r.user_id, r.order_id, r.order_amount, r.discount_amount, r.status,
                    r.created_at, r.rolled_back_at, c.code AS coupon_code, k.id AS campaign_id,
                    k.name AS campaign_name, r.created_at::text AS sort_at
             FROM redemptions r
             JOIN coupons c ON c.id = r.coupon_id
             JOIN campaigns k ON k.id = c.campaign_id
             WHERE ${sql.join(conditions, sql` AND `)}
             ORDER BY r.created_at DESC NULLS LAST, r.id DESC NULLS LAST LIMIT ${limit}`;
}

/** One page of redemptions matching `filters` after `after`, and the next page's cursor (null at the end). */
export async function searchRedemptions(
  db: Db,
  filters: RedemptionSearch,
  page: { limit: number; after?: KeysetPosition | undefined },
): Promise<{ items: RedemptionFound[]; nextCursor: string | null }> {
  const rows = await queryRows<FoundRow>(db, redemptionSearchQuery(filters, page.limit, page.after));
  const last = rows.length === page.limit ? rows[rows.length - 1] : undefined;
  return {
    items: rows.map((row) => ({
      ...redemptionFromRow(row),
      couponCode: row.coupon_code,
      campaignId: row.campaign_id,
      campaignName: row.campaign_name,
    })),
    nextCursor: last ? encodeCursor({ at: last.sort_at, id: last.id }) : null,
  };
}
