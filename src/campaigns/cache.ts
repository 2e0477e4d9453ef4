/**
 * The two-level campaign cache of seed 003: L1 in-process LRU (10 s) → L2 Redis (30 min) →
 * PostgreSQL.
 *
 * Writes: after a campaign write commits (`CampaignService.onChange`), the writer puts the new
 * version in its L1 and in L2 and publishes it on Redis pub/sub; every process replaces its L1
 * entry on receipt. So a suspend through one process is served by every other within a pub/sub
 * hop, and the L1 TTL bounds staleness if a message is ever lost.
 *
 * Entries carry a version (the campaign's `updatedAt`, ms) and every level only ever replaces an
 * entry with one at least as new: a read that loaded the old row just before a write committed
 * cannot put it back over the new one (L2 compares in a Lua script, L1 in process). Deleted
 * campaigns are cached as tombstones for the same reason.
 *
 * Correctness never depends on the cache: claims and redemptions decide on authoritative state
 * (SQL or the gate). The cache serves campaign reads and the fast rejection of claims on
 * campaigns that are unknown, not active or outside their window. Counters in a cached campaign
 * (`issuedCount`) are a snapshot of the last write or load, refreshed when a claim finds the
 * campaign sold out (seed 003's "refresh the cache when the stock runs out").
 *
 * Redis failures degrade to PostgreSQL reads (L2 counts as a miss); L1 keeps working.
 */
import { LRUCache } from 'lru-cache';
import { metrics } from '../metrics/metrics.js';
import type { Campaign } from './model.js';

/** A cached version of a campaign: `campaign` null = deleted (tombstone). */
export interface CacheEntry {
  version: number;
  campaign: Campaign | null;
}

/** What the cache needs from Redis (implemented over the process's connection in redis-store.ts). */
export interface CampaignCacheStore {
  /** The L2 entry of a campaign, or undefined. */
  get(campaignId: string): Promise<CacheEntry | undefined>;
  /** Stores `entry` unless L2 holds a newer version; expires after `ttlSeconds`. */
  putIfNewer(entry: CacheEntry & { campaignId: string }, ttlSeconds: number): Promise<void>;
  /** Announces a new version to every process. */
  publish(entry: CacheEntry & { campaignId: string }): Promise<void>;
  /** Calls `onEntry` for every announced version; resolves once subscribed. */
  subscribe(onEntry: (campaignId: string, entry: CacheEntry) => void): Promise<void>;
  close(): Promise<void>;
}

export interface CampaignCacheOptions {
  /** The authoritative read (PostgreSQL); undefined for unknown or deleted campaigns. */
  load(campaignId: string): Promise<Campaign | undefined>;
  store: CampaignCacheStore;
  /** L1 time to live, ms (seed 003: 10 s). */
  l1TtlMs: number;
  /** L2 time to live, s (seed 003: 30 min). */
  l2TtlSeconds: number;
  /** Most campaigns kept in L1. */
  l1MaxEntries: number;
  /** Where Redis failures are reported (they never fail a read). */
  onError?(error: unknown, operation: string): void;
}

const DATE_FIELDS = ['startsAt', 'endsAt', 'createdAt', 'updatedAt', 'deletedAt'] as const;

/** The JSON text of an entry. */
export function serializeEntry(entry: CacheEntry): string {
  return JSON.stringify(entry);
}

/** Parses {@link serializeEntry}'s output back, dates included. */
export function parseEntry(text: string): CacheEntry {
  const raw = JSON.parse(text) as { version: number; campaign: Record<string, unknown> | null };
  if (!raw.campaign) return { version: raw.version, campaign: null };
  const campaign = { ...raw.campaign } as Record<string, unknown>;
  for (const field of DATE_FIELDS) {
    const value = campaign[field];
    campaign[field] = typeof value === 'string' ? new Date(value) : null;
  }
  // Entries written before redeemedCount existed (migration 0012) lack it until refreshed.
  campaign.redeemedCount ??= 0;
  const validity = campaign.couponValidity as { seconds?: number; until?: string } | null;
  if (validity?.until !== undefined)
    campaign.couponValidity = { ...validity, until: new Date(validity.until) };
  return { version: raw.version, campaign: campaign as unknown as Campaign };
}

/** The version of a campaign as stored: its last write. */
export function entryOf(campaign: Campaign): CacheEntry {
  return { version: campaign.updatedAt.getTime(), campaign: campaign.deletedAt ? null : campaign };
}

export class CampaignCache {
  private readonly l1: LRUCache<string, CacheEntry>;
  private readonly inflight = new Map<string, Promise<CacheEntry | undefined>>();

  constructor(private readonly options: CampaignCacheOptions) {
    this.l1 = new LRUCache({ max: options.l1MaxEntries, ttl: options.l1TtlMs });
  }

  /** Subscribes to other processes' announcements; call once before serving. */
  start(): Promise<void> {
    return this.options.store.subscribe((campaignId, entry) => this.putL1(campaignId, entry));
  }

  /** The campaign through L1 → L2 → PostgreSQL, or undefined when unknown or deleted. */
  async get(campaignId: string): Promise<Campaign | undefined> {
    const local = this.l1.get(campaignId);
    metrics.cacheRequests.inc({ level: 'l1', result: local ? 'hit' : 'miss' });
    if (local) return local.campaign ?? undefined;
    // A flash crowd arriving as the L1 entry expires makes one L2/PostgreSQL read, not thousands.
    let pending = this.inflight.get(campaignId);
    if (!pending) {
      pending = this.fill(campaignId).finally(() => this.inflight.delete(campaignId));
      this.inflight.set(campaignId, pending);
    }
    return (await pending)?.campaign ?? undefined;
  }

  private async fill(campaignId: string): Promise<CacheEntry | undefined> {
    let shared: CacheEntry | undefined;
    try {
      shared = await this.options.store.get(campaignId);
    } catch (error) {
      this.options.onError?.(error, 'l2 get');
    }
    metrics.cacheRequests.inc({ level: 'l2', result: shared ? 'hit' : 'miss' });
    if (shared) return this.putL1(campaignId, shared);

    const campaign = await this.options.load(campaignId);
    if (!campaign) return undefined;
    const entry = entryOf(campaign);
    try {
      await this.options.store.putIfNewer({ campaignId, ...entry }, this.options.l2TtlSeconds);
    } catch (error) {
      this.options.onError?.(error, 'l2 put');
    }
    return this.putL1(campaignId, entry);
  }

  /**
   * Publishes a committed write: the new version replaces L1 and L2 here and every process's L1.
   * Never throws (the write is committed; the L1 TTL bounds what a lost message costs).
   */
  async written(campaign: Campaign): Promise<void> {
    const entry = entryOf(campaign);
    this.putL1(campaign.id, entry);
    try {
      await this.options.store.putIfNewer({ campaignId: campaign.id, ...entry }, this.options.l2TtlSeconds);
      await this.options.store.publish({ campaignId: campaign.id, ...entry });
    } catch (error) {
      this.options.onError?.(error, 'invalidate');
    }
  }

  /** Re-reads a campaign from PostgreSQL and publishes it (its counters changed, e.g. sold out). */
  async refresh(campaignId: string): Promise<void> {
    const campaign = await this.options.load(campaignId);
    // Same updatedAt, fresher counters: an equal version replaces the cached one everywhere.
    if (campaign) await this.written(campaign);
  }

  close(): Promise<void> {
    return this.options.store.close();
  }

  /** Keeps the newer of `entry` and the L1 entry (equal versions: the new one); returns it. */
  private putL1(campaignId: string, entry: CacheEntry): CacheEntry {
    const current = this.l1.get(campaignId);
    if (current && current.version > entry.version) return current;
    this.l1.set(campaignId, entry);
    return entry;
  }
}
