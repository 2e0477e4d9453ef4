/**
 * Pending and lag of every campaign stream, for the `stampede_stream_*` gauges (read at scrape
 * time): `XINFO GROUPS` of the workers' group gives `pending` (delivered, not acked) and `lag`
 * (added, not yet delivered; Redis ≥ 7).
 */
import type { StreamStats } from '../metrics/metrics.js';
import type { RedisConnection } from '../redis/connection.js';
import { WORKER_GROUP } from './scripts.js';

/** Streams reported per scrape at most: a scrape must stay small however many campaigns exist. */
const MAX_CAMPAIGNS = 200;

export async function streamStats(redis: RedisConnection): Promise<StreamStats[]> {
  const ids = (await redis.client.smembers(redis.keys.streamRegistry)).slice(0, MAX_CAMPAIGNS);
  return Promise.all(ids.map((campaignId) => campaignStreamStats(redis, campaignId)));
}

/** Pending and lag of one campaign's stream (zeros when it has none yet). */
export async function campaignStreamStats(redis: RedisConnection, campaignId: string): Promise<StreamStats> {
  let groups: unknown[] = [];
  try {
    groups = (await redis.client.xinfo('GROUPS', redis.keys.campaign(campaignId).stream)) as unknown[];
  } catch {
    // No stream yet (ERR no such key): nothing pending.
  }
  const group = groups.map(fieldsOf).find((fields) => fields.name === WORKER_GROUP);
  return { campaignId, pending: Number(group?.pending ?? 0), lag: Number(group?.lag ?? 0) };
}

/** A flat [field, value, field, value, …] reply as a record. */
function fieldsOf(reply: unknown): Record<string, unknown> {
  const flat = reply as unknown[];
  const fields: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = flat[i + 1];
  return fields;
}
