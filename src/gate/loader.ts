/**
 * Gate state of redis-gate campaigns: loading it from PostgreSQL when it is missing (first claim,
 * or Redis restarted empty) and applying committed campaign writes to it.
 *
 * Loading happens exactly once per missing gate, under a load lock (`<p>{c:<id>}:loadlock`, the
 * mutex of src/redis/mutex.ts): the holder reads, in one REPEATABLE READ snapshot, the campaign
 * and every admitted claim PostgreSQL knows — coupons plus dead letters, per user — stages the
 * user counts in a temporary hash, and publishes everything with loadGate.lua, which refuses when
 * someone else already loaded or the lock was lost. Other processes wait until the gate appears;
 * concurrent claims of one process share one load.
 *
 * What a reload cannot know: claims that were admitted but still only in the lost stream (see
 * docs/redis.md, "Durability window"). Their stock and user slots return to the pool.
 */
import { sql } from 'drizzle-orm';
import type { Campaign } from '../campaigns/model.js';
import { asDate, asDateOrNull, type Db, queryRows } from '../db/client.js';
import { DomainError } from '../errors.js';
import type { RedisConnection } from '../redis/connection.js';
import { acquireLock, releaseLock } from '../redis/mutex.js';
import { runScript } from '../redis/scripts.js';
import {
  GATE_SCRIPTS,
  type GateConfig,
  gateConfig,
  LoadCode,
  loadGateArgs,
  syncGateArgs,
} from './scripts.js';

/** How long a load may hold the lock, ms; a crashed loader blocks others no longer than this. */
const LOAD_LOCK_MS = 30_000;
/** An unknown campaign id is remembered as `gone` this long, ms (then looked up again). */
const UNKNOWN_CAMPAIGN_TTL_MS = 60_000;
/** Users per HSET while staging user counts. */
const STAGE_CHUNK = 1000;

interface CampaignGateRow {
  status: string;
  deleted_at: string | Date | null;
  starts_at: string | Date | null;
  ends_at: string | Date | null;
  total_quantity: number;
  per_user_limit: number;
  updated_at: string | Date;
  issued: number;
}

export class GateLoader {
  private readonly loading = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly redis: RedisConnection,
    private readonly waitMs: number,
  ) {}

  /**
   * Returns once the gate of `campaignId` is loaded (by this process or another).
   * @throws DomainError `service-unavailable` when another loader does not finish within `waitMs`.
   */
  ensureLoaded(campaignId: string): Promise<void> {
    let pending = this.loading.get(campaignId);
    if (!pending) {
      pending = this.load(campaignId).finally(() => this.loading.delete(campaignId));
      this.loading.set(campaignId, pending);
    }
    return pending;
  }

  private async load(campaignId: string): Promise<void> {
    const keys = this.redis.keys.campaign(campaignId);
    const client = this.redis.client;
    const token = await acquireLock(client, keys.loadLock, {
      leaseMs: LOAD_LOCK_MS,
      deadline: Date.now() + this.waitMs,
      // Another process may finish the load while this one waits: then there is nothing to do.
      notNeeded: async () => (await client.hexists(keys.gate, 'issued')) === 1,
      timeoutError: () =>
        new DomainError('service-unavailable', 'the campaign gate is being loaded', { retryAfterSeconds: 1 }),
    });
    if (token === undefined) return;
    try {
      const { config, issued, users, known } = await this.readState(campaignId);
      const staging = keys.usersLoading(token);
      for (let i = 0; i < users.length; i += STAGE_CHUNK) {
        const pairs = users.slice(i, i + STAGE_CHUNK).flatMap((u) => [u.user_id, u.n]);
        await client.hset(staging, ...pairs);
        await client.pexpire(staging, LOAD_LOCK_MS);
      }
      const code = await runScript<number>(
        client,
        GATE_SCRIPTS.loadGate,
        loadGateArgs(keys, { token, issued, config }),
      );
      if (code === LoadCode.Loaded) {
        if (!known) await client.pexpire(keys.gate, UNKNOWN_CAMPAIGN_TTL_MS);
        if (config.status !== 'gone') await client.sadd(this.redis.keys.streamRegistry, campaignId);
      }
    } finally {
      await releaseLock(client, keys.loadLock, token);
    }
  }

  /** Campaign config, admitted count and per-user counts from one snapshot of PostgreSQL. */
  private readState(campaignId: string) {
    return this.db.transaction(
      async (tx) => {
        const rows = await queryRows<CampaignGateRow>(
          tx,
          sql`SELECT status, deleted_at, starts_at, ends_at, total_quantity, per_user_limit, updated_at,
                     issued_count + (SELECT count(*) FROM dead_letters WHERE campaign_id = ${campaignId})::int AS issued
              FROM campaigns WHERE id = ${campaignId}`,
        );
        const row = rows[0];
        if (!row) return { config: gateConfig(undefined), issued: 0, users: [], known: false };
        const users = await queryRows<{ user_id: string; n: number }>(
          tx,
          sql`SELECT user_id, count(*)::int AS n FROM (
                SELECT user_id FROM coupons WHERE campaign_id = ${campaignId} AND user_id IS NOT NULL
                UNION ALL
                SELECT user_id FROM dead_letters WHERE campaign_id = ${campaignId} AND user_id IS NOT NULL
              ) admitted GROUP BY user_id`,
        );
        return { config: configFromRow(row), issued: row.issued, users, known: true };
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
  }
}

function configFromRow(row: CampaignGateRow): GateConfig {
  return gateConfig({
    status: row.status,
    deletedAt: asDateOrNull(row.deleted_at),
    startsAt: asDateOrNull(row.starts_at),
    endsAt: asDateOrNull(row.ends_at),
    totalQuantity: row.total_quantity,
    perUserLimit: row.per_user_limit,
    updatedAt: asDate(row.updated_at),
  } as Campaign);
}

/**
 * Applies a committed campaign write to its gate (a CampaignService listener). The config fields
 * are written even when the gate is not loaded, so a concurrent load cannot publish older state.
 */
export async function syncGate(redis: RedisConnection, campaign: Campaign): Promise<void> {
  const keys = redis.keys.campaign(campaign.id);
  await runScript(redis.client, GATE_SCRIPTS.syncGate, syncGateArgs(keys, gateConfig(campaign)));
  if (campaign.status === 'active' && !campaign.deletedAt) {
    await redis.client.sadd(redis.keys.streamRegistry, campaign.id);
  }
}
