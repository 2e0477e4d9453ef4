/**
 * Waiting for the redis-gate pipeline to drain: every campaign asked about has an empty stream
 * and agrees with the invariant (src/gate/reconcile.ts). Used by tests, the
 * benchmark and `stampede simulate`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { type Db, queryRows } from '../db/client.js';
import type { RedisConnection } from '../redis/connection.js';
import { reconcileCampaign } from './reconcile.js';

/**
 * Resolves once the streams of `campaignIds` — or, without it, of every registry campaign this
 * database knows — are empty and every gate count equals persisted + dead letters. Campaigns of
 * the registry the database does not know (Redis state of another database sharing the key
 * prefix, or of one since restored) are never waited for: the worker dead-letters their entries
 * (`campaign-unknown`), but their gate counts belong to another database.
 * Polls every `pollMs` (10 ms) the counts it waits on.
 * @throws Error after `timeoutMs` (60 s) naming the campaigns still pending.
 */
export async function waitForDrain(
  db: Db,
  redis: RedisConnection,
  options: { timeoutMs?: number; pollMs?: number; campaignIds?: string[] } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const ids =
      options.campaignIds ??
      (await knownCampaigns(db, await redis.client.smembers(redis.keys.streamRegistry)));
    const lengths = await Promise.all(ids.map((id) => redis.client.xlen(redis.keys.campaign(id).stream)));
    let busy = ids.filter((_, i) => lengths[i]! > 0);
    if (busy.length === 0) {
      const rows = await Promise.all(ids.map((id) => reconcileCampaign(db, redis, id)));
      busy = rows.filter((row) => !row.ok || row.pending > 0).map((row) => row.campaignId);
      if (busy.length === 0) return;
    }
    if (Date.now() > deadline) throw new Error(`the pipeline did not drain: campaigns ${busy.join(', ')}`);
    await sleep(options.pollMs ?? 10);
  }
}

/** The ids of `ids` that are campaigns of this database. */
async function knownCampaigns(db: Db, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await queryRows<{ id: string }>(
    db,
    sql`SELECT id::text AS id FROM campaigns
        WHERE id::text = ANY(${sql.param(ids)}::text[])`,
  );
  return rows.map((row) => row.id);
}
