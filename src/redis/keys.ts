/**
 * Every Redis key of Stampede is built here (BullMQ `QueueKeys` style), so the layout is visible
 * in one place and documented in docs/redis.md.
 *
 * All keys of one campaign carry the hash tag `{c:<campaignId>}`: Redis Cluster places them in
 * one slot, so a Lua script may touch all of them atomically. Keys that span campaigns (the
 * registry of campaign streams) live outside any campaign's tag and are only used by single
 * commands, never inside a script. `prefix` namespaces a deployment (or a test file).
 *
 * | key | type | content |
 * | --- | --- | --- |
 * | `<p>{c:<id>}:gate` | hash | status, startsMs, endsMs, total, limit, version (config); issued (admission counter, present = loaded) |
 * | `<p>{c:<id>}:users` | hash | userId → claims admitted for that user |
 * | `<p>{c:<id>}:stream` | stream | admitted claims waiting for a worker (entry format: src/gate/stream-entry.ts) |
 * | `<p>{c:<id>}:claims` | hash | claimId → "position:userId" while the claim is pending |
 * | `<p>{c:<id>}:users:load:<token>` | hash | user counts being loaded, renamed onto `users` when complete |
 * | `<p>{c:<id>}:loadlock` | string | token of the process loading the gate from PostgreSQL |
 * | `<p>{c:<id>}:lock` | string | redis-lock: token of the claim holding the campaign lock |
 * | `<p>{c:<id>}:cache` | string | campaign cache level 2: JSON `{version, campaign}` (src/campaigns/cache.ts) |
 * | `<p>{c:<id>}:outcomes` | hash | claim outcome → claims answered with it, all API processes (src/live/counters.ts) |
 * | `<p>{c:<id>}:ratelimit:<userId>` | string | redis-gate: the user's claims on this campaign in the current rate-limit window (admitClaims.lua), expires with the window |
 * | `<p>campaigns:streams` | set | ids of campaigns whose stream workers must poll |
 * | `<p>campaigns:cache` | pub/sub channel | new campaign versions, so every process replaces its level-1 entry |
 * | `<p>ratelimit:…claims:<userId>` | string | the other strategies: per-user claim counter of @fastify/rate-limit (its own script) |
 */

export interface CampaignKeys {
  gate: string;
  users: string;
  stream: string;
  claims: string;
  loadLock: string;
  lock: string;
  /** Campaign cache level 2 entry. */
  cache: string;
  /** Claim outcome counters of the live view. */
  outcomes: string;
  /** redis-gate: the per-user claim rate-limit counter of `userId` on this campaign. */
  claimRate(userId: string): string;
  /** Staging hash for a load identified by `token`. */
  usersLoading(token: string): string;
}

export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** The hash tag of a campaign: every key of the campaign contains it. */
  static tag(campaignId: string): string {
    return `{c:${campaignId}}`;
  }

  campaign(campaignId: string): CampaignKeys {
    const base = `${this.prefix}${RedisKeys.tag(campaignId)}`;
    return {
      gate: `${base}:gate`,
      users: `${base}:users`,
      stream: `${base}:stream`,
      claims: `${base}:claims`,
      loadLock: `${base}:loadlock`,
      lock: `${base}:lock`,
      cache: `${base}:cache`,
      outcomes: `${base}:outcomes`,
      claimRate: (userId) => `${base}:ratelimit:${userId}`,
      usersLoading: (token) => `${base}:users:load:${token}`,
    };
  }

  /** Set of campaign ids whose streams the workers poll (written when a gate is loaded). */
  get streamRegistry(): string {
    return `${this.prefix}campaigns:streams`;
  }

  /** Pub/sub channel announcing new campaign versions to every process's cache. */
  get campaignCacheChannel(): string {
    return `${this.prefix}campaigns:cache`;
  }

  /** Prefix of the rate limit counters of @fastify/rate-limit (its `nameSpace`); redis-gate's per-user claim counters are campaign keys ({@link CampaignKeys.claimRate}). */
  get rateLimitNamespace(): string {
    return `${this.prefix}ratelimit:`;
  }
}
