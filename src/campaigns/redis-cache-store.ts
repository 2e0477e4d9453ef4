/**
 * Level 2 and pub/sub of the campaign cache over the process's Redis connection: entries at
 * `<p>{c:<id>}:cache` written by cachePutIfNewer.lua, announcements on `<p>campaigns:cache`
 * received by a dedicated subscriber connection (a subscribed connection can run nothing else).
 */
import type { RedisClient, RedisConnection } from '../redis/connection.js';
import { luaScript, runScript } from '../redis/scripts.js';
import { type CacheEntry, type CampaignCacheStore, parseEntry, serializeEntry } from './cache.js';

/** Level-2 write that never replaces a newer version (scripts/cachePutIfNewer.lua). */
export const cachePutIfNewerScript = luaScript(new URL('./scripts/', import.meta.url), 'cachePutIfNewer', 1);

export function redisCampaignCacheStore(redis: RedisConnection): CampaignCacheStore {
  const channel = redis.keys.campaignCacheChannel;
  let subscriber: RedisClient | undefined;
  return {
    async get(campaignId) {
      const text = await redis.client.get(redis.keys.campaign(campaignId).cache);
      return text === null ? undefined : parseEntry(text);
    },
    async putIfNewer({ campaignId, version, campaign }, ttlSeconds) {
      await runScript(redis.client, cachePutIfNewerScript, [
        redis.keys.campaign(campaignId).cache,
        version,
        serializeEntry({ version, campaign }),
        ttlSeconds,
      ]);
    },
    async publish({ campaignId, version, campaign }) {
      await redis.client.publish(
        channel,
        JSON.stringify({ campaignId, entry: serializeEntry({ version, campaign }) }),
      );
    },
    async subscribe(onEntry: (campaignId: string, entry: CacheEntry) => void) {
      subscriber = redis.client.duplicate();
      subscriber.on('error', () => {});
      subscriber.on('message', (from: string, message: string) => {
        if (from !== channel) return;
        try {
          const { campaignId, entry } = JSON.parse(message) as { campaignId: string; entry: string };
          onEntry(campaignId, parseEntry(entry));
        } catch {
          // A malformed message is dropped; the L1 TTL bounds what it would have refreshed.
        }
      });
      await subscriber.subscribe(channel);
    },
    async close() {
      try {
        await subscriber?.quit();
      } catch {
        subscriber?.disconnect();
      }
    },
  };
}
