/** redis-lock specifics: a held lock makes claims wait, then fail with 503 semantics; release is compare-and-delete. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStrategy } from '../../src/app/strategy.js';
import { CampaignService } from '../../src/campaigns/service.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { Db } from '../../src/db/client.js';
import type { RedisConnection } from '../../src/redis/connection.js';
import { campaignInput } from '../support/campaigns.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { dropPrefix, openTestRedis, testRedisConfig } from '../support/redis.js';

describe('redis-lock', () => {
  let database: TestDatabase;
  let redis: RedisConnection;
  const settings = { ...testRedisConfig(), lockWaitMs: 150, lockLeaseMs: 1000 };

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    redis = await openTestRedis(settings);
  });
  afterAll(async () => {
    if (redis) await dropPrefix(redis);
    await redis?.close();
    await database?.close();
  });

  it('refuses a claim with service-unavailable and Retry-After while another holder keeps the lock', async () => {
    const strategy = createStrategy(
      { ...loadConfig({}), issuanceStrategy: 'redis-lock', redis: settings },
      database.db,
      redis,
    );
    const campaign = await new CampaignService(database.db).create(
      campaignInput({ name: 'lock', totalQuantity: 5, discount: { type: 'fixed', amount: 100 } }),
    );
    const lockKey = redis.keys.campaign(campaign.id).lock;
    await redis.client.set(lockKey, 'someone-else', 'PX', 10_000);
    await expect(
      strategy.claim({ campaignId: campaign.id, userId: 'u1', claimId: randomUUID() }),
    ).rejects.toMatchObject({
      code: 'service-unavailable',
      retryAfterSeconds: 1,
    });
    // Our claim's release never deleted the other holder's lock (compare-and-delete).
    expect(await redis.client.get(lockKey)).toBe('someone-else');
    await redis.client.del(lockKey);
    await expect(
      strategy.claim({ campaignId: campaign.id, userId: 'u1', claimId: randomUUID() }),
    ).resolves.toMatchObject({
      status: 'issued',
    });
    expect(await redis.client.exists(lockKey)).toBe(0);
  });

  it('refuses to build a Redis strategy without a Redis connection, naming REDIS_URL', () => {
    expect(() =>
      createStrategy({ ...loadConfig({}), issuanceStrategy: 'redis-gate' }, {} as Db, undefined),
    ).toThrow(ConfigError);
    expect(() =>
      createStrategy({ ...loadConfig({}), issuanceStrategy: 'redis-lock' }, {} as Db, undefined),
    ).toThrow(/REDIS_URL/);
  });
});
