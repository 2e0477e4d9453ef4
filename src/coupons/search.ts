/**
 * Coupon search for admins (`GET /v1/coupons`): filters by campaign, user, code, status, issued
 * and redeemed time ranges, with keyset pagination.
 *
 * Order: newest first by `(issued_at, id)` — or by `(redeemed_at, id)` when a redeemed range is
 * given — so every page is an index range scan that stops after `limit` rows, as cheap on page
 * 10,000 as on page 1. One index per filter, each in that order (src/db/schema.ts):
 * campaignId → coupons_campaign_issued_idx, code → coupons_code_unique, status →
 * coupons_status_issued_idx, issued range (or no filter) → coupons_issued_idx, redeemed range →
 * coupons_redeemed_idx. The exception is userId → coupons_user_slot_unique: the user's coupons
 * are read whole and sorted (a user holds few; an index in the keyset order slowed every
 * coupon insert, migration 0008). With several filters PostgreSQL picks the most selective of
 * these and checks the rest on the rows it reads.
 *
 * Coupons of soft-deleted campaigns are hidden with `campaign_id NOT IN (deleted campaigns)`: a
 * hashed subplan over the few deleted campaigns, evaluated as a filter, which keeps the plan an
 * ordered index scan (an EXISTS join could be reordered into a full scan).
 *
 * `DESC NULLS LAST` spells out the indexes' order (Drizzle's `.desc()`): a bare `DESC` means
 * NULLS FIRST in PostgreSQL, which no index matches, and the planner would sort instead.
 *
 * The cursor carries the sort timestamp as PostgreSQL text, with its microseconds
 * (src/db/keyset.ts `KeysetPosition`).
 */
import { type SQL, sql } from 'drizzle-orm';
import { type Db, queryRows } from '../db/client.js';
import { encodeCursor, type KeysetPosition } from '../db/keyset.js';
import { COUPON_COLUMNS, type Coupon, type CouponRow, type CouponStatus, couponFromRow } from './model.js';

export interface CouponSearch {
  campaignId?: string | undefined;
  userId?: string | undefined;
  code?: string | undefined;
  status?: CouponStatus | undefined;
  issuedFrom?: Date | undefined;
  issuedTo?: Date | undefined;
  redeemedFrom?: Date | undefined;
  redeemedTo?: Date | undefined;
}

/** A keyset position in the search order (see the module docstring). */
export type SearchPosition = KeysetPosition;

const COLUMNS = sql.raw(
  COUPON_COLUMNS.split(', ')
    .map((column) => `c.${column}`)
    .join(', '),
);

/** The SELECT for one page (exported so a test can EXPLAIN exactly what the API runs). */
export function searchQuery(filters: CouponSearch, limit: number, after?: SearchPosition): SQL {
  const byRedeemed = filters.redeemedFrom !== undefined || filters.redeemedTo !== undefined;
  const sortColumn = sql.raw(byRedeemed ? 'c.redeemed_at' : 'c.issued_at');
  const conditions: SQL[] = [
    sql`c.campaign_id NOT IN (SELECT id FROM campaigns WHERE deleted_at IS NOT NULL)`,
  ];
  if (filters.campaignId) conditions.push(sql`c.campaign_id = ${filters.campaignId}`);
  if (filters.userId) conditions.push(sql`c.user_id = ${filters.userId}`);
  if (filters.code) conditions.push(sql`c.code = ${filters.code}`);
  if (filters.status) conditions.push(statusCondition(filters.status));
  if (filters.issuedFrom)
    conditions.push(sql`c.issued_at >= ${filters.issuedFrom.toISOString()}::timestamptz`);
  if (filters.issuedTo) conditions.push(sql`c.issued_at < ${filters.issuedTo.toISOString()}::timestamptz`);
  if (byRedeemed) conditions.push(sql`c.redeemed_at IS NOT NULL`);
  if (filters.redeemedFrom) {
    conditions.push(sql`c.redeemed_at >= ${filters.redeemedFrom.toISOString()}::timestamptz`);
  }
  if (filters.redeemedTo)
    conditions.push(sql`c.redeemed_at < ${filters.redeemedTo.toISOString()}::timestamptz`);
  if (after) conditions.push(sql`(${sortColumn}, c.id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
  return sql`SELECT ${COLUMNS}, ${sortColumn}::text AS sort_at FROM coupons c
             WHERE ${sql.join(conditions, sql` AND `)}
             ORDER BY ${sortColumn} DESC NULLS LAST, c.id DESC NULLS LAST LIMIT ${limit}`;
}

/** `expired` is derived: stored `issued` with `expires_at` in the past. */
function statusCondition(status: CouponStatus): SQL {
  if (status === 'expired') return sql`c.status = 'issued' AND c.expires_at <= now()`;
  if (status === 'issued') return sql`c.status = 'issued' AND (c.expires_at IS NULL OR c.expires_at > now())`;
  return sql`c.status = ${status}`;
}

/** One page of coupons matching `filters` after `after`, and the cursor of the next page (null at the end). */
export async function searchCoupons(
  db: Db,
  filters: CouponSearch,
  page: { limit: number; after?: SearchPosition | undefined },
): Promise<{ items: Coupon[]; nextCursor: string | null }> {
  const rows = await queryRows<CouponRow & { sort_at: string }>(
    db,
    searchQuery(filters, page.limit, page.after),
  );
  const last = rows.length === page.limit ? rows[rows.length - 1] : undefined;
  return {
    items: rows.map((row) => couponFromRow(row)),
    nextCursor: last ? encodeCursor({ at: last.sort_at, id: last.id }) : null,
  };
}
