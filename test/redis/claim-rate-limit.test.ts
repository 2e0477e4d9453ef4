/**
 * The per-user claim rate limit with Redis, on a Redis server of this file's own (its command
 * statistics are this file's alone): redis-gate checks it inside its admission script, the other
 * strategies through @fastify/rate-limit around the strategy. Either way a claim the campaign
 * cache refuses (here: sold out) is answered from memory, costs no Redis command and does not
 * count against the limit.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app/build-app.js';
import type { Config, StrategyName } from '../../src/config.js';
import { waitForDrain } from '../../src/gate/drain.js';
import { StreamWorker } from '../../src/gate/worker.js';
import { bearer, createCampaign, ensureUser, problemOf, type TestApp, testConfig } from '../helpers/app.js';
import { sampleValue } from '../helpers/prometheus.js';
import { type RedisServer, redisCli, startRedisServer } from '../helpers/redis-server.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testRedisConfig } from '../support/redis.js';

const PORT = 7163;
const LIMIT = { max: 2, windowMs: 60_000 };

/** Calls of each command Redis ran so far (scripts' inner commands included), from INFO commandstats. */
async function commandCalls(): Promise<Map<string, number>> {
  const info = await redisCli(PORT, 'INFO', 'commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm))
    calls.set(match[1]!, Number(match[2]));
  return calls;
}

/** The commands run between two {@link commandCalls} snapshots, with their counts. */
function commandsBetween(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [command, calls] of after) {
    const added = calls - (before.get(command) ?? 0);
    if (added > 0 && command !== 'info') delta[command] = added;
  }
  return delta;
}

/** What the live view's counters flush every 200 ms (src/live/counters.ts): not the claim's path. */
const LIVE_COUNTER_FLUSH = ['hincrby', 'expire'];

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer(PORT);
});
afterAll(async () => {
  await server?.stop();
});

describe.each<StrategyName>(['redis-gate', 'db-atomic'])('the claim rate limit with %s', (strategy) => {
  let database: TestDatabase;
  /** Two API instances on one database and one Redis prefix. */
  let apps: Awaited<ReturnType<typeof buildApp>>[];
  let t: Pick<TestApp, 'app' | 'adminToken'>;
  const accepted = strategy === 'redis-gate' ? 202 : 201;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const config: Partial<Config> = {
      issuanceStrategy: strategy,
      redis: testRedisConfig({ url: server.url }),
      claimRateLimit: LIMIT,
    };
    apps = [];
    for (let i = 0; i < 2; i++) apps.push(await buildApp({ config: testConfig(config), database }));
    const admin = randomUUID();
    const ver = await ensureUser(database.db, admin, 'admin');
    t = { app: apps[0]!, adminToken: apps[0]!.tokens.sign({ sub: admin, role: 'admin', ver }) };
  });
  afterAll(async () => {
    for (const app of apps ?? []) await app.close();
    await database?.close();
  });

  const claim = (campaignId: string, userId: string, app = apps[0]!) =>
    app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaignId}/claims`,
      headers: bearer(t.adminToken),
      payload: { userId },
    });

  it('answers 429 rate-limited problem+json with Retry-After past the limit, per user, and counts it', async () => {
    const campaign = await createCampaign(t as TestApp, { perUserLimit: 5 });
    const scrape = async () => (await apps[0]!.inject({ method: 'GET', url: '/metrics' })).body;
    const route = { route: '/v1/campaigns/:id/claims' };
    const before = sampleValue(await scrape(), 'stampede_rate_limited_requests_total', route);

    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await claim(campaign.id, 'hasty')).statusCode);
    expect(statuses).toEqual([accepted, accepted, 429, 429]);
    const limited = problemOf(await claim(campaign.id, 'hasty'));
    expect(limited.status).toBe(429);
    expect(limited.contentType).toMatch(/^application\/problem\+json/);
    expect(limited.body.code).toBe('rate-limited');
    const retryAfter = Number((await claim(campaign.id, 'hasty')).headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await claim(campaign.id, 'patient')).statusCode).toBe(accepted);

    const after = sampleValue(await scrape(), 'stampede_rate_limited_requests_total', route);
    expect(after - before).toBe(4);
  });

  it('holds across two instances sharing Redis', async () => {
    const campaign = await createCampaign(t as TestApp, { perUserLimit: 5 });
    const statuses = [];
    for (const app of [...apps, ...apps])
      statuses.push((await claim(campaign.id, 'roaming', app)).statusCode);
    expect(statuses).toEqual([accepted, accepted, 429, 429]);
  });

  it('answers sold-out claims from the campaign cache without a Redis command, and does not count them', async () => {
    const campaign = await createCampaign(t as TestApp, { totalQuantity: 1 });
    expect((await claim(campaign.id, 'first')).statusCode).toBe(accepted);
    if (strategy === 'redis-gate') {
      // The cache learns the stock is gone from PostgreSQL, once the worker persisted the claim.
      const redis = apps[0]!.services.redis!;
      const worker = new StreamWorker({
        db: database.db,
        redis,
        config: { ...apps[0]!.services.config.worker, pollMs: 5 },
      });
      worker.start();
      await waitForDrain(database.db, redis, { timeoutMs: 20_000 });
      await worker.stop();
    }
    // The strategy refuses the next claim as sold out, which refreshes the cache: L1, L2, then a
    // PUBLISH to the other instances, its last Redis command.
    const published = (await commandCalls()).get('publish') ?? 0;
    expect(problemOf(await claim(campaign.id, 'second')).body.code).toBe('sold-out');
    const deadline = Date.now() + 5_000;
    while (((await commandCalls()).get('publish') ?? 0) === published && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect((await apps[0]!.services.campaignCache!.get(campaign.id))!.issuedCount).toBe(1);

    const before = await commandCalls();
    const codes = [];
    for (let i = 0; i < 2 * LIMIT.max + 1; i++)
      codes.push(problemOf(await claim(campaign.id, 'late')).body.code);
    const commands = commandsBetween(before, await commandCalls());

    expect(codes).toEqual(Array(2 * LIMIT.max + 1).fill('sold-out'));
    expect(Object.keys(commands).filter((command) => !LIVE_COUNTER_FLUSH.includes(command))).toEqual([]);
    // None of them counted: the same user still has its whole limit on another campaign.
    const other = await createCampaign(t as TestApp, { perUserLimit: 5 });
    const statuses = [];
    for (let i = 0; i < LIMIT.max + 1; i++) statuses.push((await claim(other.id, 'late')).statusCode);
    expect(statuses).toEqual([accepted, accepted, 429]);
  });

  it('counts a claim that reaches the strategy whatever it answers', async () => {
    const campaign = await createCampaign(t as TestApp, { perUserLimit: 1 });
    const before = await commandCalls();
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await claim(campaign.id, 'greedy')).statusCode);
    const commands = commandsBetween(before, await commandCalls());
    // already-claimed counts like an admitted claim; the third is over the limit of 2.
    expect(statuses).toEqual([accepted, 409, 429]);
    expect((commands.evalsha ?? 0) + (commands.eval ?? 0)).toBeGreaterThanOrEqual(3);
  });
});
