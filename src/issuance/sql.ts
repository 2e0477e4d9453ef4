/**
 * The SQL of the database strategies. Everything that decides a claim runs inside PostgreSQL:
 * no counter is read into the application and written back.
 */
import { type SQL, sql } from 'drizzle-orm';
import { COUPON_COLUMNS, type CouponRow } from '../coupons/model.js';
import { asDate, asDateOrNull, type Db, pgError, queryRows, SQLSTATE } from '../db/client.js';
import { DomainError } from '../errors.js';
import { couponData, isoTime, outboxCtes } from '../webhooks/outbox.js';
import type { ClaimState } from './rules.js';

/** The expiry of a coupon issued now: `now() + validity seconds` and/or the campaign's fixed date, earliest wins. */
const EXPIRES_AT = sql.raw(
  `LEAST(now() + c.coupon_validity_seconds * interval '1 second', c.coupon_valid_until)`,
);

/**
 * Outbox CTEs writing `campaign.sold_out` when the CTE `bumped` (the campaign's UPDATE of
 * issued_count, returning id, issued_count, total_quantity) took the last unit and `condition`
 * holds. Nothing is written when no enabled endpoint subscribes (src/webhooks/outbox.ts).
 */
export function soldOutEvents(condition: SQL = sql`true`): SQL {
  return outboxCtes(
    'sold_out_wh',
    'campaign.sold_out',
    sql`SELECT jsonb_build_object('campaignId', b.id, 'totalQuantity', b.total_quantity,
                                  'soldOutAt', ${isoTime(sql`clock_timestamp()`)}) AS data
        FROM bumped b WHERE b.issued_count = b.total_quantity AND ${condition}`,
  );
}

/**
 * The outbox CTEs of a claim statement: a `coupon.issued` event per row of the CTE `issued`
 * (coupon columns), and `campaign.sold_out` ({@link soldOutEvents}).
 */
export const CLAIM_EVENTS = sql`${outboxCtes('issued_wh', 'coupon.issued', sql`SELECT ${couponData('issued')} AS data FROM issued`)},
  ${soldOutEvents()}`;

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

export function claimStateFromRow(row: Omit<ClaimStateRow, 'held'>): ClaimState & { now: Date } {
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
 * db-atomic: one statement that issues a coupon when every admission condition holds, atomically.
 *
 * Order matters for throughput: everything that can be decided without the hot campaign row is
 * done first — the conditions are read from the statement's snapshot and the coupon is inserted
 * (heap, indexes, foreign key, slot trigger) — and the campaign row is locked last, by the
 * `issued_count + 1` UPDATE, which is then held only until the commit. A claim whose snapshot
 * saw no stock, another status, or the user at the limit inserts nothing and locks nothing.
 *
 * Races with concurrent commits surface as errors that undo the whole statement (classify them
 * with {@link claimRace}):
 * - the last unit was taken since the snapshot: the bump violates the CHECK
 *   campaigns_issued_within_stock (SQLSTATE 23514) — definitively sold out;
 * - the same user's parallel claim took the slot computed from the snapshot: the unique index
 *   coupons_user_slot_unique rejects the insert (23505) — retry with a fresh snapshot.
 * Status, window and deletion are judged on the snapshot: a claim whose statement began before
 * a suspension committed is ordered before it, as READ COMMITTED orders them.
 */
export async function issueAtomically(db: Db, campaignId: string, userId: string, claimId: string) {
  const rows = await queryRows<CouponRowWithState>(
    db,
    sql`WITH k AS (
          SELECT c.id, c.status, c.starts_at, c.ends_at, c.total_quantity, c.issued_count, c.per_user_limit,
                 ${EXPIRES_AT} AS expires_at
          FROM campaigns c WHERE c.id = ${campaignId} AND c.deleted_at IS NULL
        ), held AS (
          SELECT count(*)::int AS n FROM coupons WHERE campaign_id = ${campaignId} AND user_id = ${userId}
        ), issued AS (
          INSERT INTO coupons (id, campaign_id, user_id, user_slot, status, expires_at)
          SELECT ${claimId}, k.id, ${userId}, held.n + 1, 'issued', k.expires_at FROM k, held
          WHERE k.status = 'active' AND k.issued_count < k.total_quantity AND held.n < k.per_user_limit
            AND (k.starts_at IS NULL OR k.starts_at <= now()) AND (k.ends_at IS NULL OR k.ends_at > now())
          RETURNING ${sql.raw(COUPON_COLUMNS)}
        ), bumped AS (
          UPDATE campaigns SET issued_count = issued_count + 1
          WHERE id = ${campaignId} AND EXISTS (SELECT 1 FROM issued)
          RETURNING id, issued_count, total_quantity
        ), ${CLAIM_EVENTS}
        SELECT issued.*, k.status AS campaign_status, k.starts_at, k.ends_at, k.total_quantity,
               k.issued_count, k.per_user_limit, held.n AS held, now() AS now
        FROM k CROSS JOIN held LEFT JOIN issued ON true`,
  );
  const row = rows[0];
  if (!row) return { kind: 'unknown-campaign' } satisfies AtomicIssueResult;
  if (row.id !== null) return { kind: 'issued', coupon: row } satisfies AtomicIssueResult;
  return { kind: 'rejected', state: { ...row, status: row.campaign_status } } satisfies AtomicIssueResult;
}

/**
 * What a failed {@link issueAtomically} statement means: `sold-out` (the stock ran out after the
 * snapshot; final), `slot-taken` (the same user's parallel claim took the slot; retry), or
 * undefined for any other error.
 */
export function claimRace(error: unknown): 'sold-out' | 'slot-taken' | undefined {
  const pg = pgError(error);
  if (pg?.code === SQLSTATE.checkViolation && pg.constraint === 'campaigns_issued_within_stock')
    return 'sold-out';
  if (pg?.code === SQLSTATE.uniqueViolation && pg.constraint === 'coupons_user_slot_unique')
    return 'slot-taken';
  return undefined;
}

/**
 * Statement attempts per claim, at most. A retry happens only when the same user's parallel claim
 * took the slot computed from the snapshot ({@link claimRace} `slot-taken`). Each such collision
 * means one more coupon of that user has committed, so a claim collides at most per-user-limit
 * times before it sees the limit reached: 100 is the largest limit the API accepts
 * (src/campaigns/schemas.ts), plus a margin.
 */
export const MAX_CLAIM_ATTEMPTS = 100 + 5;

/**
 * Runs `attempt` (a claim statement such as {@link issueAtomically}, with whatever it does around
 * it) until it does not lose a same-user slot race, at most {@link MAX_CLAIM_ATTEMPTS} times.
 * Used by db-atomic (and redis-lock through it) and by shared-code redemptions.
 * @throws DomainError `sold-out` when the last unit went to a concurrent claim; the attempt's own
 *   error otherwise (the last slot race after the bound included).
 */
export async function retryOnClaimRace<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      const race = claimRace(error);
      if (race === 'sold-out')
        throw new DomainError('sold-out', 'the last coupons went while this claim was decided');
      if (race !== 'slot-taken' || n >= MAX_CLAIM_ATTEMPTS) throw error;
    }
  }
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
          RETURNING c.id, c.issued_count, c.total_quantity, ${EXPIRES_AT} AS expires_at
        ), issued AS (
          INSERT INTO coupons (id, campaign_id, user_id, user_slot, status, expires_at)
          SELECT ${claimId}, id, ${userId}, ${slot}, 'issued', expires_at FROM bumped
          RETURNING ${sql.raw(COUPON_COLUMNS)}
        ), ${CLAIM_EVENTS}
        SELECT * FROM issued`,
  );
  return rows[0]!;
}

/** One claim of a db-batch batch, in arrival order. */
export interface BatchClaim {
  claimId: string;
  userId: string;
}

/** A claim's row from {@link issueBatch}: the user's coupons before the batch, the coupon if issued. */
export interface BatchClaimRow {
  claimId: string;
  userId: string;
  /** Coupons of this campaign the user held before the batch (statement snapshot). */
  held: number;
  coupon: CouponRow | undefined;
}

export type BatchIssueResult =
  | { kind: 'decided'; state: Omit<ClaimStateRow, 'held'>; claims: BatchClaimRow[] }
  | { kind: 'unknown-campaign' };

type BatchRow = CouponRowWithState & { claim_id: string };

/**
 * db-batch: one statement that admits a whole batch of claims on one campaign, in arrival order,
 * exactly as if they had been decided one after the other (DESIGN.md strategy 5).
 *
 * From the arrays (claim id, user id, position), on the statement's snapshot:
 * - each claim's user slot is the user's coupons already held plus its rank among that user's
 *   claims in the batch; a claim is eligible when the campaign is active, inside its window, and
 *   the slot is within the per-user limit;
 * - the eligible claims, by position, take the remaining stock (`total_quantity - issued_count`):
 *   the last units go to the earliest claims;
 * - the admitted coupons are inserted (coupon id = claim id, the slot in `user_slot`), then
 *   `issued_count` is bumped once by their number — the hot campaign row is locked once per
 *   batch, from that update to the commit.
 * A skipped claim never shifts a later one of the same user into a free slot wrongly: a claim is
 * skipped for the limit (then so is every later one of that user) or for the stock (then so is
 * every later claim); so the admitted set is the one a sequential run would admit.
 *
 * Returns one row per claim, by position, with the campaign snapshot it was judged on.
 * Races with concurrent commits of other processes fail the whole statement, with the errors
 * {@link claimRace} names (the CHECK for the stock, the unique slot index for a user); the caller
 * then decides the batch's claims one by one.
 */
export async function issueBatch(
  db: Db,
  campaignId: string,
  claims: BatchClaim[],
): Promise<BatchIssueResult> {
  const rows = await queryRows<BatchRow>(
    db,
    sql`WITH input AS (
          SELECT * FROM unnest(${sql.param(claims.map((c) => c.claimId))}::uuid[],
                               ${sql.param(claims.map((c) => c.userId))}::text[],
                               ${sql.param(claims.map((_, i) => i + 1))}::int[]) AS i(claim_id, user_id, position)
        ), k AS (
          SELECT c.id, c.status, c.starts_at, c.ends_at, c.total_quantity, c.issued_count, c.per_user_limit,
                 ${EXPIRES_AT} AS expires_at,
                 c.status = 'active' AND (c.starts_at IS NULL OR c.starts_at <= now())
                   AND (c.ends_at IS NULL OR c.ends_at > now()) AS open
          FROM campaigns c WHERE c.id = ${campaignId} AND c.deleted_at IS NULL
        ), held AS (
          -- One index probe per user (coupons_user_slot_unique), never a scan of the campaign's coupons.
          SELECT u.user_id, (SELECT count(*)::int FROM coupons h
                             WHERE h.user_id = u.user_id AND h.campaign_id = ${campaignId}) AS n
          FROM (SELECT DISTINCT user_id FROM input) u
        ), slotted AS (
          SELECT i.claim_id, i.user_id, i.position, coalesce(h.n, 0) AS held,
                 coalesce(h.n, 0) + row_number() OVER (PARTITION BY i.user_id ORDER BY i.position) AS slot
          FROM input i LEFT JOIN held h ON h.user_id = i.user_id
        ), eligible AS (
          SELECT s.claim_id, s.user_id, s.position, s.slot,
                 row_number() OVER (ORDER BY s.position) AS place
          FROM slotted s, k WHERE k.open AND s.slot <= k.per_user_limit
        ), issued AS (
          INSERT INTO coupons (id, campaign_id, user_id, user_slot, status, expires_at)
          SELECT e.claim_id, k.id, e.user_id, e.slot, 'issued', k.expires_at
          FROM eligible e, k WHERE e.place <= k.total_quantity - k.issued_count
          ORDER BY e.position
          RETURNING ${sql.raw(COUPON_COLUMNS)}
        ), bumped AS (
          UPDATE campaigns SET issued_count = issued_count + (SELECT count(*) FROM issued)
          WHERE id = ${campaignId} AND EXISTS (SELECT 1 FROM issued)
          RETURNING id, issued_count, total_quantity
        ), ${CLAIM_EVENTS}
        SELECT s.claim_id, s.held, issued.*, k.status AS campaign_status, k.starts_at, k.ends_at,
               k.total_quantity, k.issued_count, k.per_user_limit, now() AS now
        FROM slotted s CROSS JOIN k LEFT JOIN issued ON issued.id = s.claim_id
        ORDER BY s.position`,
  );
  const first = rows[0];
  if (!first) return { kind: 'unknown-campaign' };
  return {
    kind: 'decided',
    state: {
      status: first.campaign_status,
      starts_at: first.starts_at,
      ends_at: first.ends_at,
      total_quantity: first.total_quantity,
      issued_count: first.issued_count,
      per_user_limit: first.per_user_limit,
      now: first.now,
    },
    claims: rows.map((row, i) => ({
      claimId: row.claim_id,
      userId: claims[i]!.userId,
      held: row.held,
      coupon: row.id === null ? undefined : row,
    })),
  };
}
