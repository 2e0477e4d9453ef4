/**
 * A redis-gate test bench: the strategy on a given Redis, a CampaignService wired to it as
 * buildApp does, workers on demand, and the counts the fault tests assert on.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { createStrategy } from '../../src/app/strategy.js';
import { CampaignService } from '../../src/campaigns/service.js';
import { type Config, loadConfig, type RedisConfig, type WorkerConfig } from '../../src/config.js';
import { queryRows } from '../../src/db/client.js';
import { DomainError } from '../../src/errors.js';
import { StreamWorker } from '../../src/gate/worker.js';
import type { IssuanceStrategy } from '../../src/issuance/strategies/types.js';
import { openRedis, type RedisConnection } from '../../src/redis/connection.js';
import { campaignInput } from '../support/campaigns.js';
import type { TestDatabase } from '../support/database.js';
import { dropPrefix, testRedisConfig } from '../support/redis.js';
import { createTestApp, type TestApp } from './app.js';

export interface GateBench {
  redis: RedisConnection;
  strategy: IssuanceStrategy;
  campaigns: CampaignService;
  newCampaign(
    overrides?: Partial<Parameters<CampaignService['create']>[0]>,
  ): ReturnType<CampaignService['create']>;
  /** One claim: the claim id when admitted (acknowledged), else the rejection code. */
  claim(campaignId: string, userId: string): Promise<{ claimId?: string; code?: string }>;
  /** Starts a worker in this process (its own connection), stopped by close(). */
  startWorker(overrides?: Partial<WorkerConfig>): StreamWorker;
  /** Stops (gracefully) every worker started by startWorker. */
  stopWorkers(): Promise<void>;
  counts(campaignId: string): Promise<CampaignCounts>;
  close(): Promise<void>;
}

export interface CampaignCounts {
  coupons: number;
  distinctCoupons: number;
  maxPerUser: number;
  issuedCount: number;
  deadLetters: number;
}

/**
 * @param claimRateLimit the gate's per-user claim rate limit; none by default (the fault tests
 *   send many claims per user).
 */
export async function createGateBench(
  database: TestDatabase,
  redisConfig: RedisConfig,
  claimRateLimit: Config['claimRateLimit'] = { max: 0, windowMs: 1000 },
): Promise<GateBench> {
  const base = loadConfig({});
  const config = {
    ...base,
    issuanceStrategy: 'redis-gate' as const,
    redis: { ...redisConfig, breakerHalfOpenMs: 200 },
    claimRateLimit,
  };
  const redis = openRedis(config.redis, 'test');
  const strategy = createStrategy(config, database.db, redis);
  const campaigns = new CampaignService(database.db);
  campaigns.onChange((campaign) => strategy.onCampaignChange!(campaign));
  const workers: { worker: StreamWorker; connection: RedisConnection }[] = [];
  return {
    redis,
    strategy,
    campaigns,
    newCampaign: (overrides = {}) => campaigns.create(campaignInput({ name: 'faults', ...overrides })),
    claim: async (campaignId, userId) => {
      try {
        const outcome = await strategy.claim({ campaignId, userId, claimId: randomUUID() });
        return { claimId: outcome.claimId };
      } catch (error) {
        return { code: error instanceof DomainError ? error.code : String(error) };
      }
    },
    startWorker: (overrides = {}) => {
      const connection = openRedis(config.redis, 'test-worker');
      const worker = new StreamWorker({
        db: database.db,
        redis: connection,
        config: { ...base.worker, pollMs: 5, ...overrides },
      });
      worker.start();
      workers.push({ worker, connection });
      return worker;
    },
    stopWorkers: async () => {
      for (const { worker, connection } of workers.splice(0)) {
        await worker.stop();
        await connection.close();
      }
    },
    counts: async (campaignId) => {
      const [row] = await queryRows<CampaignCounts>(
        database.db,
        sql`SELECT count(*)::int AS "coupons", count(DISTINCT id)::int AS "distinctCoupons",
                   coalesce(max(n), 0)::int AS "maxPerUser",
                   (SELECT issued_count FROM campaigns WHERE id = ${campaignId}) AS "issuedCount",
                   (SELECT count(*)::int FROM dead_letters WHERE campaign_id = ${campaignId}) AS "deadLetters"
            FROM (SELECT id, count(*) OVER (PARTITION BY user_id) AS n FROM coupons WHERE campaign_id = ${campaignId}) c`,
      );
      return row!;
    },
    close: async () => {
      for (const { worker, connection } of workers.splice(0)) {
        await worker.stop();
        await connection.close();
      }
      await redis.close();
    },
  };
}

/** Claim ids of `claimIds` that are not coupons in the database. */
export async function missingCoupons(database: TestDatabase, claimIds: string[]): Promise<string[]> {
  const rows = await queryRows<{ id: string }>(
    database.db,
    sql`SELECT s.id FROM unnest(${sql.param(claimIds)}::uuid[]) AS s(id)
        WHERE NOT EXISTS (SELECT 1 FROM coupons c WHERE c.id = s.id)`,
  );
  return rows.map((row) => row.id);
}

/** Polls `read` every 10 ms until `done` holds for its value; throws after `timeoutMs`. */
export async function waitUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not reached in ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The HTTP app with ISSUANCE_STRATEGY=redis-gate on PostgreSQL and the test Redis, and a worker (not started). */
export interface GateApp {
  t: TestApp;
  worker: StreamWorker;
  /** Stops the worker, drops the app's Redis keys, closes the app and its database. */
  close(): Promise<void>;
}

export async function createGateApp(): Promise<GateApp> {
  const t = await createTestApp('postgres', {
    config: { issuanceStrategy: 'redis-gate', redis: testRedisConfig() },
  });
  const worker = new StreamWorker({
    db: t.database.db,
    redis: t.app.services.redis!,
    config: { ...t.app.services.config.worker, pollMs: 5 },
  });
  return {
    t,
    worker,
    close: async () => {
      await worker.stop();
      await dropPrefix(t.app.services.redis!);
      await t.close();
    },
  };
}

/**
 * Makes the worker of `gate` dead-letter a real claim of `userId` with reason `slot-taken`: the
 * claim is admitted through the API (an admin claiming for the shop user), then a coupon written behind the gate's back takes the
 * user's slot (as a gate reload mid-batch can) before the worker (started here) persists it.
 * `freeSlot` deletes that coupon, after which a retry of the dead letter can succeed.
 */
export async function slotTakenDeadLetter(gate: GateApp, campaignId: string, userId: string) {
  const { t } = gate;
  const claim = await t.app.inject({
    method: 'POST',
    url: `/v1/campaigns/${campaignId}/claims`,
    headers: { authorization: `Bearer ${t.adminToken}` },
    payload: { userId },
  });
  if (claim.statusCode !== 202) throw new Error(`claim not admitted: ${claim.body}`);
  const claimId = claim.json().claimId as string;
  const squatter = randomUUID();
  await queryRows(
    t.database.db,
    sql`INSERT INTO coupons (id, campaign_id, user_id, user_slot, status)
        VALUES (${squatter}, ${campaignId}, ${userId}, 1, 'issued')`,
  );
  gate.worker.start();
  await waitUntil(
    () => queryRows(t.database.db, sql`SELECT 1 FROM dead_letters WHERE claim_id = ${claimId}`),
    (rows) => rows.length === 1,
  );
  return {
    claimId,
    freeSlot: async () => {
      await queryRows(t.database.db, sql`DELETE FROM coupons WHERE id = ${squatter}`);
    },
  };
}
