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
import type { Database } from '../db/client.js';
import { notificationChannel } from '../db/notifications.js';
import { type CacheEntry, type CampaignCacheStore, parseEntry, serializeEntry } from './cache.js';

/** The NOTIFY channel of campaign versions. */
export const CAMPAIGN_CACHE_CHANNEL = 'stampede_campaign_cache';

/**
 * A store for {@link CampaignCache} on the database itself.
 * @param onError where a lost or failed LISTEN connection is reported (it is re-opened).
 */
export function databaseCampaignCacheStore(
  database: Database,
  onError: (error: unknown) => void = () => {},
): CampaignCacheStore {
  const channel = notificationChannel(database, CAMPAIGN_CACHE_CHANNEL, onError);
  return {
    get: async () => undefined,
    putIfNewer: async () => {},
    async publish({ campaignId, version, campaign }) {
      await channel.notify(JSON.stringify({ campaignId, entry: serializeEntry({ version, campaign }) }));
    },
    async subscribe(onEntry: (campaignId: string, entry: CacheEntry) => void) {
      await channel.listen((payload) => {
        try {
          const { campaignId, entry } = JSON.parse(payload) as { campaignId: string; entry: string };
          onEntry(campaignId, parseEntry(entry));
        } catch {
          // A malformed message is dropped; the L1 TTL bounds what it would have refreshed.
        }
      });
    },
    close: () => channel.close(),
  };
}
