/**
 * The SQL of the database strategies. Everything that decides a claim runs inside PostgreSQL:
 * no counter is read into the application and written back.
 */
import { sql } from 'drizzle-orm';
import { COUPON_COLUMNS, type CouponRow } from '../coupons/model.js';
import { asDate, asDateOrNull, type Db, queryRows } from '../db/client.js';
import type { ClaimState } from './rules.js';

/** The expiry of a coupon issued now: `now() + validity seconds` and/or the campaign's fixed date, earliest wins. */
const EXPIRES_AT = sql.raw(
  `LEAST(now() + c.coupon_validity_seconds * interval '1 second', c.coupon_valid_until)`,
);

/** Campaign columns read to diagnose a rejection, as returned by raw SQL. */
export interface ClaimStateRow {
  status: string;
  starts_at: Date | string | null;
  ends_at: Date | string | null;
  total_quantity: number;
  issued_count: number;
  per_user_limit: number;
  held: number;
  /** The database's clock (transaction start): rules are judged on it, not on the app's clock. */
  now: Date | string;
}

export function claimStateFromRow(row: ClaimStateRow): ClaimState & { now: Date } {
  return {
    now: asDate(row.now),
    status: row.status,
    startsAt: asDateOrNull(row.starts_at),
    endsAt: asDateOrNull(row.ends_at),
    totalQuantity: row.total_quantity,
    issuedCount: row.issued_count,
    perUserLimit: row.per_user_limit,
  };
}

export type AtomicIssueResult =
  | { kind: 'issued'; coupon: CouponRow }
  | { kind: 'rejected'; state: ClaimStateRow }
  | { kind: 'unknown-campaign' };

/**
 * db-atomic: one statement that bumps `issued_count` under every admission condition and inserts
 * the coupon, atomically (a failed insert undoes the bump). The row lock on the campaign is held
 * only for this statement and its commit.
 *
 * `held` (the user's coupons) comes from the statement's snapshot: two concurrent claims by one
 * user may both compute the same `user_slot`; the unique index coupons_user_slot_unique then
 * rejects the second with SQLSTATE 23505, and the caller retries with a fresh snapshot.
 * On rejection the campaign columns are those of the snapshot (possibly stale); the caller
 * retries when they do not explain the rejection.
 */
export async function issueAtomically(db: Db, campaignId: string, userId: string, claimId: string) {
  const rows = await queryRows<CouponRowWithState>(
    db,
    sql`WITH held AS (
          SELECT count(*)::int AS n FROM coupons WHERE campaign_id = ${campaignId} AND user_id = ${userId}
        ), bumped AS (
          UPDATE campaigns c SET issued_count = c.issued_count + 1
          FROM held
          WHERE c.id = ${campaignId} AND c.deleted_at IS NULL AND c.status = 'active'
            AND c.issued_count < c.total_quantity
            AND (c.starts_at IS NULL OR c.starts_at <= now())
            AND (c.ends_at IS NULL OR c.ends_at > now())
            AND held.n < c.per_user_limit
          RETURNING c.id, held.n + 1 AS slot, ${EXPIRES_AT} AS expires_at
        ), issued AS (
          INSERT INTO coupons (id, campaign_id, user_id, user_slot, status, expires_at)
          SELECT ${claimId}, id, ${userId}, slot, 'issued', expires_at FROM bumped
          RETURNING ${sql.raw(COUPON_COLUMNS)}
        )
        SELECT issued.*, k.status AS campaign_status, k.starts_at, k.ends_at, k.total_quantity,
               k.issued_count, k.per_user_limit, held.n AS held, now() AS now
        FROM campaigns k CROSS JOIN held LEFT JOIN issued ON true
        WHERE k.id = ${campaignId} AND k.deleted_at IS NULL`,
  );
  const row = rows[0];
  if (!row) return { kind: 'unknown-campaign' } satisfies AtomicIssueResult;
  if (row.id !== null) return { kind: 'issued', coupon: row } satisfies AtomicIssueResult;
  return { kind: 'rejected', state: { ...row, status: row.campaign_status } } satisfies AtomicIssueResult;
}

type CouponRowWithState = CouponRow & Omit<ClaimStateRow, 'status'> & { campaign_status: string };

/**
 * db-lock step 1: locks the campaign row (`FOR UPDATE`), then reads the user's holding. The count
 * is a separate statement on purpose: in READ COMMITTED it then takes a snapshot after the lock
 * was granted, so it sees every coupon committed by earlier lock holders.
 */
export async function lockCampaignForClaim(db: Db, campaignId: string, userId: string) {
  const locked = await queryRows<Omit<ClaimStateRow, 'held'>>(
    db,
    sql`SELECT status, starts_at, ends_at, total_quantity, issued_count, per_user_limit, now() AS now
        FROM campaigns WHERE id = ${campaignId} AND deleted_at IS NULL
        FOR UPDATE`,
  );
  if (!locked[0]) return undefined;
  const held = await queryRows<{ n: number }>(
    db,
    sql`SELECT count(*)::int AS n FROM coupons WHERE campaign_id = ${campaignId} AND user_id = ${userId}`,
  );
  return { ...locked[0], held: held[0]!.n } satisfies ClaimStateRow;
}

/** db-lock step 2 (under the lock): inserts the coupon in slot `slot` and bumps `issued_count`. */
export async function insertCouponUnderLock(
  db: Db,
  campaignId: string,
  userId: string,
  claimId: string,
  slot: number,
) {
  const rows = await queryRows<CouponRow>(
    db,
    sql`WITH bumped AS (
          UPDATE campaigns c SET issued_count = c.issued_count + 1 WHERE c.id = ${campaignId}
          RETURNING c.id, ${EXPIRES_AT} AS expires_at
        )
        INSERT INTO coupons (id, campaign_id, user_id, user_slot, status, expires_at)
        SELECT ${claimId}, id, ${userId}, ${slot}, 'issued', expires_at FROM bumped
        RETURNING ${sql.raw(COUPON_COLUMNS)}`,
  );
  return rows[0]!;
}
