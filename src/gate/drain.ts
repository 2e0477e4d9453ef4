/**
 * Waiting for the redis-gate pipeline to drain: every campaign of the stream registry has an
 * empty stream and agrees with the invariant (src/gate/reconcile.ts). Used by tests, the
 * benchmark and `stampede simulate`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/client.js';
import type { RedisConnection } from '../redis/connection.js';
import { reconcileCampaign } from './reconcile.js';

/**
 * Resolves once all streams (or those of `campaignIds`) are empty and every gate count equals persisted + dead letters.
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
    const ids = options.campaignIds ?? (await redis.client.smembers(redis.keys.streamRegistry));
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
