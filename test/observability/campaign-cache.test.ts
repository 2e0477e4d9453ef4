/**
 * The two-level campaign cache with two app instances (two "processes") on one PostgreSQL
 * database and one Redis: invalidation through pub/sub, the level counters, versions that keep
 * a racing read from reinstating an old row, claims refused from the cache, and the per-user rate
 * limit shared through Redis.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app/build-app.js';
import { type CacheEntry, entryOf } from '../../src/campaigns/cache.js';
import { redisCampaignCacheStore } from '../../src/campaigns/redis-cache-store.js';
import { insertCampaign } from '../../src/campaigns/repository.js';
import { bearer, createCampaign, createTestApp, type TestApp, testConfig } from '../helpers/app.js';
import { countedDbAtomic } from '../helpers/counted-strategy.js';
import { sampleValue } from '../helpers/prometheus.js';
import { campaignInput } from '../support/campaigns.js';
import { dropPrefix, testRedisConfig } from '../support/redis.js';

const redisConfig = testRedisConfig();
/** Instance A's strategy, counting the claims that reach it (cache rejections do not). */
let counted: ReturnType<typeof countedDbAtomic>;

let a: TestApp;
let b: FastifyInstance;

beforeAll(async () => {
  a = await createTestApp('postgres', {
    config: { redis: redisConfig },
    issuance: (database) => {
      counted = countedDbAtomic(database.db);
      return counted;
    },
  });
  b = await buildApp({
    config: testConfig({ redis: redisConfig, claimRateLimit: { max: 0, windowMs: 1000 } }),
    database: a.database,
  });
  await b.ready();
});
afterAll(async () => {
  await b?.close();
  if (a) await dropPrefix(a.app.services.redis!);
  await a?.close();
});

const read = (app: FastifyInstance, id: string) => app.inject({ method: 'GET', url: `/v1/campaigns/${id}` });
const statusOn = async (app: FastifyInstance, id: string) =>
  ((await read(app, id)).json() as { status: string }).status;
const suspend = (id: string) =>
  a.app.inject({
    method: 'PATCH',
    url: `/v1/campaigns/${id}`,
    headers: bearer(a.adminToken),
    payload: { status: 'suspended' },
  });
const cacheCount = async (app: FastifyInstance, level: string, result: string) =>
  sampleValue((await app.inject({ method: 'GET', url: '/metrics' })).body, 'stampede_cache_requests_total', {
    level,
    result,
  });

describe('the campaign cache', () => {
  it('serves a suspension made through A from B within 100 ms', async () => {
    const campaign = await createCampaign(a);
    expect(await statusOn(b, campaign.id)).toBe('active'); // now in B's level 1
    expect(await statusOn(b, campaign.id)).toBe('active');

    expect((await suspend(campaign.id)).statusCode).toBe(200);
    // A functional bound, not a benchmark: poll B until it answers suspended, at most 100 ms.
    const deadline = Date.now() + 100;
    let seen = await statusOn(b, campaign.id);
    while (seen !== 'suspended' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      seen = await statusOn(b, campaign.id);
    }
    expect(seen).toBe('suspended');
  });

  it('reads level 1, then level 2, then PostgreSQL, and counts each level', async () => {
    // Written straight to PostgreSQL: no instance has announced it, no level holds it.
    const campaign = await insertCampaign(
      a.database.db,
      campaignInput({ name: 'uncached', totalQuantity: 10, discount: { type: 'fixed', amount: 100 } }),
    );
    // Both instances share this process's metrics registry: the deltas add up their lookups.
    const counts = async () => ({
      l1Hit: await cacheCount(a.app, 'l1', 'hit'),
      l1Miss: await cacheCount(a.app, 'l1', 'miss'),
      l2Hit: await cacheCount(a.app, 'l2', 'hit'),
      l2Miss: await cacheCount(a.app, 'l2', 'miss'),
    });
    const before = await counts();
    expect((await read(b, campaign.id)).json()).toMatchObject({ id: campaign.id }); // miss, miss: PostgreSQL
    await read(b, campaign.id); // level 1 hit
    await read(a.app, campaign.id); // level 1 miss, level 2 hit
    const after = await counts();
    expect({
      l1Hit: after.l1Hit - before.l1Hit,
      l1Miss: after.l1Miss - before.l1Miss,
      l2Hit: after.l2Hit - before.l2Hit,
      l2Miss: after.l2Miss - before.l2Miss,
    }).toEqual({ l1Hit: 1, l1Miss: 2, l2Hit: 1, l2Miss: 1 });
  });

  it('never lets an older version replace a newer one in Redis', async () => {
    const store = redisCampaignCacheStore(a.app.services.redis!);
    const campaign = await createCampaign(a);
    const fresh = (await suspend(campaign.id)).json() as { updatedAt: string };
    const newer = (await store.get(campaign.id)) as CacheEntry;
    expect(newer.campaign?.status).toBe('suspended');
    expect(newer.version).toBe(new Date(fresh.updatedAt).getTime());

    // A reader that loaded the row before the suspension commits late.
    const stale = entryOf({ ...newer.campaign!, status: 'active', updatedAt: new Date(newer.version - 5) });
    await store.putIfNewer({ campaignId: campaign.id, ...stale }, 60);
    expect((await store.get(campaign.id))?.campaign?.status).toBe('suspended');
  });

  it('refuses claims on a suspended campaign from the cache without calling the strategy', async () => {
    const campaign = await createCampaign(a);
    await suspend(campaign.id);
    const calls = counted.calls;
    const response = await a.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaign.id}/claims`,
      headers: bearer(await a.userToken('late-user')),
    });
    expect(response.statusCode).toBe(409);
    expect((response.json() as { code: string }).code).toBe('campaign-not-active');
    expect(counted.calls).toBe(calls);
  });

  it('refreshes the cache when a claim finds the stock gone, so later claims are refused from it', async () => {
    const campaign = await createCampaign(a, { totalQuantity: 1 });
    const claim = async (user: string) =>
      a.app.inject({
        method: 'POST',
        url: `/v1/campaigns/${campaign.id}/claims`,
        headers: bearer(await a.userToken(user)),
      });
    expect((await claim('first')).statusCode).toBe(201);
    expect((await claim('second')).statusCode).toBe(409); // the strategy says sold out
    // The refresh runs after the answer: wait (bounded) until the cache shows the stock gone.
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      const body = (await read(a.app, campaign.id)).json() as { remaining: number };
      if (body.remaining === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const calls = counted.calls;
    const third = await claim('third');
    expect((third.json() as { code: string }).code).toBe('sold-out');
    expect(counted.calls).toBe(calls);
  });

  it('answers not found for a deleted campaign on every instance', async () => {
    const campaign = await createCampaign(a);
    expect(await statusOn(b, campaign.id)).toBe('active');
    await a.app.inject({
      method: 'DELETE',
      url: `/v1/campaigns/${campaign.id}`,
      headers: bearer(a.adminToken),
    });
    const deadline = Date.now() + 2_000;
    let code = (await read(b, campaign.id)).statusCode;
    while (code !== 404 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      code = (await read(b, campaign.id)).statusCode;
    }
    expect(code).toBe(404);
  });
});

describe('the claim rate limit with Redis', () => {
  it('is shared by every instance', async () => {
    const limited = [
      await buildApp({
        config: testConfig({ redis: redisConfig, claimRateLimit: { max: 2, windowMs: 60_000 } }),
        database: a.database,
      }),
      await buildApp({
        config: testConfig({ redis: redisConfig, claimRateLimit: { max: 2, windowMs: 60_000 } }),
        database: a.database,
      }),
    ];
    try {
      const campaign = await createCampaign(a, { perUserLimit: 5 });
      const statuses = [];
      for (const app of [...limited, ...limited]) {
        const response = await app.inject({
          method: 'POST',
          url: `/v1/campaigns/${campaign.id}/claims`,
          headers: bearer(a.adminToken),
          payload: { userId: 'shared-limit-user' },
        });
        statuses.push(response.statusCode);
      }
      expect(statuses).toEqual([201, 201, 429, 429]);
      const keys = await a.app.services.redis!.client.keys(`${redisConfig.keyPrefix}ratelimit:*`);
      expect(keys.length).toBe(1);
    } finally {
      for (const app of limited) await app.close();
    }
  });
});
