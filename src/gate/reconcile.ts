/**
 * The redis-gate invariant, per campaign: gate issued = persisted + pending + dead letters, where
 * persisted is the campaign's `issued_count` in PostgreSQL, pending counts stream entries whose
 * claim is neither persisted nor dead-lettered, and dead letters are the campaign's rows in
 * `dead_letters`. The gate counter and the stream are read in one MULTI (same hash slot), then
 * PostgreSQL. Claims moving meanwhile can make one reading disagree, so a campaign is re-read up
 * to `attempts` times and reported as a mismatch only if it never agrees.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { type Db, queryRows } from '../db/client.js';
import type { RedisConnection } from '../redis/connection.js';
import { decodeStreamEntry } from './stream-entry.js';

export interface ReconcileRow {
  campaignId: string;
  /** The gate's admission counter; null when the gate is not loaded (nothing to compare). */
  gateIssued: number | null;
  persisted: number;
  pending: number;
  deadLetters: number;
  ok: boolean;
}

/** Reconciles the given campaigns, or every campaign of the stream registry. */
export async function reconcile(
  db: Db,
  redis: RedisConnection,
  options: { campaignIds?: string[]; attempts?: number } = {},
): Promise<ReconcileRow[]> {
  const ids = options.campaignIds ?? (await redis.client.smembers(redis.keys.streamRegistry)).sort();
  const rows: ReconcileRow[] = [];
  for (const campaignId of ids) {
    let row = await reconcileCampaign(db, redis, campaignId);
    for (let attempt = 1; !row.ok && attempt < (options.attempts ?? 3); attempt++) {
      await sleep(200);
      row = await reconcileCampaign(db, redis, campaignId);
    }
    rows.push(row);
  }
  return rows;
}

/** One reading of one campaign. */
export async function reconcileCampaign(
  db: Db,
  redis: RedisConnection,
  campaignId: string,
): Promise<ReconcileRow> {
  const keys = redis.keys.campaign(campaignId);
  const replies =
    (await redis.client.multi().hget(keys.gate, 'issued').xrange(keys.stream, '-', '+').exec()) ?? [];
  const [[gateError, issued], [streamError, entries]] = replies as [
    [Error | null, string | null],
    [Error | null, [string, string[]][]],
  ];
  if (gateError) throw gateError;
  if (streamError) throw streamError;
  const claimIds = entries.map(([, fields]) => decodeStreamEntry(fields)?.claimId ?? '').filter(Boolean);
  const [counts] = await queryRows<{ persisted: number; dead_letters: number; settled: number }>(
    db,
    sql`SELECT coalesce((SELECT issued_count FROM campaigns WHERE id = ${campaignId}), 0) AS persisted,
               (SELECT count(*)::int FROM dead_letters WHERE campaign_id = ${campaignId}) AS dead_letters,
               (SELECT count(*)::int FROM unnest(${sql.param(claimIds)}::text[]) AS s(id)
                 WHERE EXISTS (SELECT 1 FROM coupons c WHERE c.id::text = s.id)
                    OR EXISTS (SELECT 1 FROM dead_letters d WHERE d.claim_id = s.id)) AS settled`,
  );
  const gateIssued = issued === null ? null : Number(issued);
  const pending = entries.length - counts!.settled;
  const row = {
    campaignId,
    gateIssued,
    persisted: counts!.persisted,
    pending,
    deadLetters: counts!.dead_letters,
  };
  return { ...row, ok: gateIssued === null || gateIssued === row.persisted + pending + row.deadLetters };
}
