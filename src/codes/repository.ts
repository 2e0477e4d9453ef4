/**
 * Code SQL: bulk insertion of generated codes and their export.
 *
 * A batch is one statement (so one transaction): the codes and their time-ordered ids (./ids.ts)
 * go in through `unnest` of two array parameters, `ON CONFLICT (code) WHERE code IS NOT NULL DO NOTHING` drops the ones that collide with existing codes
 * (the caller draws that many again), the campaign's `issued_count` grows by the number
 * inserted (CHECK campaigns_issued_within_stock refuses a batch beyond the stock), and the job's
 * progress advances — all or nothing.
 */
import { sql } from 'drizzle-orm';
import { type Db, queryRows } from '../db/client.js';
import { timeOrderedIds } from '../db/ids.js';
import { soldOutEvents } from '../issuance/sql.js';
import { outboxCtes } from '../webhooks/outbox.js';
import { type CodeOptions, generateCodes } from './generator.js';

/** Codes to insert and their coupon ids (same length). */
export interface CodeBatch {
  codes: string[];
  ids: string[];
}

/** A batch of `count` new random codes with time-ordered ids. */
export function prepareCodeBatch(options: CodeOptions, count: number): CodeBatch {
  return { codes: generateCodes(options, count), ids: timeOrderedIds(count) };
}

/**
 * Inserts the batch's codes as owner-less `issued` coupons of `campaignId`; returns how many were new.
 * Codes equal to a campaign's shared code are skipped like collisions. The coupons' expiry
 * follows the campaign's validity, as for issued coupons. 0 when the campaign is deleted or unknown.
 * The same statement writes the webhook events `codes.generated` (this batch's count) and
 * `campaign.sold_out` (when the batch took the last unit).
 * @param batch codes of [0-9A-Za-z_-] only (they are written into an array literal).
 * @throws the PostgreSQL check violation campaigns_issued_within_stock when the stock is exceeded.
 */
export async function insertCodeBatch(
  db: Db,
  campaignId: string,
  batch: CodeBatch,
  jobId?: string,
): Promise<number> {
  const array = `{${batch.codes.join(',')}}`;
  const ids = `{${batch.ids.join(',')}}`;
  const rows = await queryRows<{ inserted: number }>(
    db,
    sql`WITH k AS (
          SELECT id, LEAST(now() + coupon_validity_seconds * interval '1 second', coupon_valid_until) AS expires_at
          FROM campaigns WHERE id = ${campaignId} AND deleted_at IS NULL
        ), inserted AS (
          INSERT INTO coupons (id, campaign_id, code, status, expires_at)
          SELECT u.id, k.id, u.code, 'issued', k.expires_at
          FROM unnest(${ids}::uuid[], ${array}::text[]) AS u(id, code) CROSS JOIN k
          WHERE NOT EXISTS (SELECT 1 FROM campaigns s WHERE s.shared_code = u.code)
          ON CONFLICT (code) WHERE code IS NOT NULL DO NOTHING
          RETURNING 1
        ), counted AS (
          SELECT count(*)::int AS n FROM inserted
        ), bumped AS (
          UPDATE campaigns SET issued_count = issued_count + counted.n FROM counted WHERE id = ${campaignId}
          RETURNING campaigns.id, issued_count, total_quantity
        ), ${outboxCtes(
          'codes_wh',
          'codes.generated',
          sql`SELECT jsonb_build_object('campaignId', ${campaignId}::uuid, 'count', n, 'jobId', ${jobId ?? null}::uuid) AS data
              FROM counted WHERE n > 0`,
        )}, ${soldOutEvents(sql`(SELECT n FROM counted) > 0`)}, progressed AS (
          UPDATE jobs SET done = done + counted.n, updated_at = now() FROM counted WHERE jobs.id = ${jobId ?? null}::uuid
          RETURNING 1
        )
        SELECT n AS inserted, (SELECT count(*) FROM bumped) + (SELECT count(*) FROM progressed) AS touched FROM counted`,
  );
  return rows[0]!.inserted;
}

/** A campaign's remaining stock (total − issued), or undefined when it is unknown or deleted. */
export async function remainingStock(db: Db, campaignId: string): Promise<number | undefined> {
  const rows = await queryRows<{ remaining: number }>(
    db,
    sql`SELECT total_quantity - issued_count AS remaining FROM campaigns WHERE id = ${campaignId} AND deleted_at IS NULL`,
  );
  return rows[0]?.remaining;
}

export interface ExportedCode {
  id: string;
  code: string;
  status: string;
  issued_at: Date | string;
  expires_at: Date | string | null;
  redeemed_at: Date | string | null;
}

/**
 * Up to `limit` codes of a campaign after keyset position `after` ((issued_at, id) descending,
 * index coupons_campaign_issued_idx), for streaming exports.
 */
export async function codesPage(
  db: Db,
  campaignId: string,
  limit: number,
  after?: { issuedAt: string; id: string },
): Promise<ExportedCode[]> {
  const position = after
    ? sql`AND (issued_at, id) < (${after.issuedAt}::timestamptz, ${after.id}::uuid)`
    : sql``;
  return queryRows<ExportedCode>(
    db,
    sql`SELECT id, code, status, issued_at::text AS issued_at, expires_at, redeemed_at FROM coupons
        WHERE campaign_id = ${campaignId} AND code IS NOT NULL ${position}
        ORDER BY issued_at DESC NULLS LAST, id DESC NULLS LAST LIMIT ${limit}`,
  );
}
