/**
 * The campaign cache's announcements without Redis: PostgreSQL `LISTEN/NOTIFY`
 * (https://www.postgresql.org/docs/current/sql-notify.html) on the channel
 * `stampede_campaign_cache`, or, on the embedded database (one serving process), a local
 * broadcast. There is no shared level 2: each process fills its level 1 from the database.
 *
 * So every process, with or without Redis, keeps each hot campaign's admission state (status,
 * window, sold out) in memory and refuses what it can without a round trip
 * (src/issuance/cached-precheck.ts); a write in any process reaches every process's memory
 * within one notification, and the level-1 TTL bounds staleness if one is ever lost.
 */
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { Database } from '../db/client.js';
import { type CacheEntry, type CampaignCacheStore, parseEntry, serializeEntry } from './cache.js';

/** The NOTIFY channel of campaign versions. */
export const CAMPAIGN_CACHE_CHANNEL = 'stampede_campaign_cache';
/** Wait before a lost LISTEN connection is opened again, ms. */
const RELISTEN_DELAY_MS = 1000;

/**
 * A store for {@link CampaignCache} on the database itself.
 * @param onError where a lost or failed LISTEN connection is reported (it is re-opened).
 */
export function databaseCampaignCacheStore(
  database: Database,
  onError: (error: unknown) => void = () => {},
): CampaignCacheStore {
  const { pool } = database;
  const local = new EventEmitter();
  let listener: pg.PoolClient | undefined;
  let closed = false;

  const listen = async (onEntry: (campaignId: string, entry: CacheEntry) => void): Promise<void> => {
    if (!pool || closed) return;
    const client = await pool.connect();
    listener = client;
    client.on('notification', (message) => {
      if (message.channel !== CAMPAIGN_CACHE_CHANNEL || !message.payload) return;
      try {
        const { campaignId, entry } = JSON.parse(message.payload) as { campaignId: string; entry: string };
        onEntry(campaignId, parseEntry(entry));
      } catch {
        // A malformed message is dropped; the L1 TTL bounds what it would have refreshed.
      }
    });
    // `on`, not `once`: the client stays a pool member after close(), and a later error (the
    // database dropped, the server restarted) must not become an unhandled 'error' event.
    client.on('error', (error) => {
      // Only while it is still this store's listener: after close() or a first error the client
      // has been released, and releasing it again throws.
      if (listener !== client) return;
      listener = undefined;
      onError(error);
      client.release(true);
      setTimeout(() => listen(onEntry).catch(onError), RELISTEN_DELAY_MS).unref();
    });
    await client.query(`LISTEN ${CAMPAIGN_CACHE_CHANNEL}`);
  };

  return {
    get: async () => undefined,
    putIfNewer: async () => {},
    async publish({ campaignId, version, campaign }) {
      const payload = JSON.stringify({ campaignId, entry: serializeEntry({ version, campaign }) });
      if (pool) await pool.query('SELECT pg_notify($1, $2)', [CAMPAIGN_CACHE_CHANNEL, payload]);
      else local.emit('entry', campaignId, parseEntry(serializeEntry({ version, campaign })));
    },
    async subscribe(onEntry) {
      if (pool) await listen(onEntry);
      else local.on('entry', onEntry);
    },
    async close() {
      closed = true;
      local.removeAllListeners();
      const client = listener;
      listener = undefined;
      if (client) {
        await client.query(`UNLISTEN ${CAMPAIGN_CACHE_CHANNEL}`).catch(() => {});
        client.release();
      }
    },
  };
}
