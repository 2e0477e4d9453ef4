/**
 * Archive SQL. A batch moves up to {@link ARCHIVE_BATCH_SIZE} rows of one table for one campaign
 * in ONE transaction: lock the campaign row (still deleted and past retention, else stop), pick
 * the batch's ids, copy the rows into the archive table (`ON CONFLICT DO NOTHING`), delete them.
 * A crash at any point either commits the whole batch or none of it, so every row is in exactly
 * one place and a rerun continues with what is left.
 *
 * Order per campaign: redemptions, then coupons, then the campaign row (the foreign keys point
 * that way). The campaign lock also orders archival against a concurrent restore: restore needs
 * `deleted_at` within retention, archival beyond it, and the lock makes them wait for each other.
 */
import { sql } from 'drizzle-orm';
import { type Db, queryRows } from '../db/client.js';

export const ARCHIVE_BATCH_SIZE = 1_000;

export type ArchiveTable = 'redemptions' | 'coupons' | 'campaigns';

/** Campaigns soft-deleted more than `afterSeconds` ago, oldest deletion first. */
export async function dueCampaigns(db: Db, afterSeconds: number): Promise<string[]> {
  const rows = await queryRows<{ id: string }>(
    db,
    sql`SELECT id FROM campaigns WHERE deleted_at <= now() - make_interval(secs => ${afterSeconds})
        ORDER BY deleted_at, id`,
  );
  return rows.map((row) => row.id);
}

/** Rows to move for `campaignIds`: redemptions, coupons and the campaigns themselves. */
export async function rowsToArchive(db: Db, campaignIds: string[]): Promise<Record<ArchiveTable, number>> {
  if (campaignIds.length === 0) return { redemptions: 0, coupons: 0, campaigns: 0 };
  const ids = uuidArray(campaignIds);
  const rows = await queryRows<Record<ArchiveTable, number>>(
    db,
    sql`SELECT (SELECT count(*)::int FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
                WHERE c.campaign_id = ANY(${ids}::uuid[])) AS redemptions,
               (SELECT count(*)::int FROM coupons WHERE campaign_id = ANY(${ids}::uuid[])) AS coupons,
               ${campaignIds.length}::int AS campaigns`,
  );
  return rows[0]!;
}

/** Locks a campaign that is still due for archival; false when it is not (restored, or gone). */
export async function lockDueCampaign(db: Db, campaignId: string, afterSeconds: number): Promise<boolean> {
  const rows = await queryRows(
    db,
    sql`SELECT 1 FROM campaigns WHERE id = ${campaignId}
          AND deleted_at <= now() - make_interval(secs => ${afterSeconds})
        FOR UPDATE`,
  );
  return rows.length === 1;
}

/** A position in a campaign's coupons, (issued_at, id) descending (index coupons_campaign_issued_idx). */
export interface CouponPosition {
  at: string;
  id: string;
}

/**
 * Ids of the next batch of `table` rows of a campaign (at most {@link ARCHIVE_BATCH_SIZE}).
 * Redemptions are found through the campaign's coupons in index order from `after` on (inclusive:
 * the last coupon of a batch may have more redemptions), so a campaign with millions of coupons
 * is walked once, not once per batch; `last` is the position to pass next time.
 */
export async function nextBatch(
  db: Db,
  table: ArchiveTable,
  campaignId: string,
  after?: CouponPosition,
): Promise<{ ids: string[]; last?: CouponPosition }> {
  if (table === 'redemptions') {
    const from = after
      ? sql`AND (c.issued_at, c.id) <= (${after.at}::timestamptz, ${after.id}::uuid)`
      : sql``;
    const rows = await queryRows<{ id: string; at: string; coupon_id: string }>(
      db,
      sql`SELECT r.id, c.issued_at::text AS at, c.id AS coupon_id
          FROM coupons c JOIN redemptions r ON r.coupon_id = c.id
          WHERE c.campaign_id = ${campaignId} ${from}
          ORDER BY c.issued_at DESC NULLS LAST, c.id DESC NULLS LAST LIMIT ${ARCHIVE_BATCH_SIZE}`,
    );
    const last = rows[rows.length - 1];
    return { ids: rows.map((row) => row.id), ...(last ? { last: { at: last.at, id: last.coupon_id } } : {}) };
  }
  const query =
    table === 'coupons'
      ? sql`SELECT id FROM coupons WHERE campaign_id = ${campaignId} LIMIT ${ARCHIVE_BATCH_SIZE}`
      : sql`SELECT id FROM campaigns WHERE id = ${campaignId}`;
  const rows = await queryRows<{ id: string }>(db, query);
  return { ids: rows.map((row) => row.id) };
}

/** Copies the rows with `ids` of `table` into its archive table (already archived ones are skipped). */
export async function copyToArchive(
  db: Db,
  table: ArchiveTable,
  campaignId: string,
  ids: string[],
): Promise<void> {
  const list = uuidArray(ids);
  const query =
    table === 'redemptions'
      ? sql`INSERT INTO archived_redemptions (id, coupon_id, campaign_id, data)
            SELECT r.id, r.coupon_id, ${campaignId}, to_jsonb(r) FROM redemptions r WHERE r.id = ANY(${list}::uuid[])
            ON CONFLICT (id) DO NOTHING`
      : table === 'coupons'
        ? sql`INSERT INTO archived_coupons (id, campaign_id, code, data)
              SELECT c.id, c.campaign_id, c.code, to_jsonb(c) FROM coupons c WHERE c.id = ANY(${list}::uuid[])
              ON CONFLICT (id) DO NOTHING`
        : sql`INSERT INTO archived_campaigns (id, deleted_at, data)
              SELECT k.id, k.deleted_at, to_jsonb(k) FROM campaigns k WHERE k.id = ANY(${list}::uuid[])
              ON CONFLICT (id) DO NOTHING`;
  await db.execute(query);
}

/** Deletes the rows with `ids` from `table`. */
export async function deleteRows(db: Db, table: ArchiveTable, ids: string[]): Promise<void> {
  await db.execute(sql`DELETE FROM ${sql.raw(table)} WHERE id = ANY(${uuidArray(ids)}::uuid[])`);
}

/** A PostgreSQL array literal of uuids (one parameter, whatever the count). */
function uuidArray(ids: string[]): string {
  return `{${ids.join(',')}}`;
}

export interface ArchivedCouponRow {
  data: Record<string, unknown> | string;
  archived_at: Date | string;
}

/** Archived coupons with code `code` (several when a code was generated again after archival). */
export async function findArchivedCoupons(db: Db, code: string): Promise<ArchivedCouponRow[]> {
  return queryRows<ArchivedCouponRow>(
    db,
    sql`SELECT data, archived_at FROM archived_coupons WHERE code = ${code} ORDER BY archived_at DESC LIMIT 100`,
  );
}
