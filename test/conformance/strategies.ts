/**
 * The issuance strategies under conformance test. Each harness builds its strategy on a test
 * database; `settle()` returns once every admitted claim is persisted (immediately for the
 * synchronous strategies; for the Redis gate, when the streams are empty and the gate counts
 * equal the persisted ones — a count, not a sleep).
 *
 * The Redis harnesses use the test Redis (or `redisConfig`, e.g. a Cluster) with a key prefix
 * of their own.
 */

import { createStrategy } from '../../src/app/strategy.js';
import { loadConfig, type RedisConfig, type StrategyName } from '../../src/config.js';
import { waitForDrain } from '../../src/gate/drain.js';
import { StreamWorker } from '../../src/gate/worker.js';
import { DbAtomicStrategy } from '../../src/issuance/strategies/db-atomic.js';
import { DbBatchStrategy } from '../../src/issuance/strategies/db-batch.js';
import { DbLockStrategy } from '../../src/issuance/strategies/db-lock.js';
import type { IssuanceStrategy } from '../../src/issuance/strategies/types.js';
import type { TestDatabase } from '../support/database.js';
import { dropPrefix, openTestRedis, testRedisConfig } from '../support/redis.js';

export interface StrategyUnderTest {
  strategy: IssuanceStrategy;
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface StrategyHarness {
  name: StrategyName;
  setup(database: TestDatabase): Promise<StrategyUnderTest>;
}

const synchronous = (strategy: IssuanceStrategy): StrategyUnderTest => ({
  strategy,
  settle: async () => {},
  close: async () => {},
});

/** The Redis strategies on `redisConfig()` (a fresh prefix on the test Redis by default). */
export function redisHarnesses(redisConfig: () => RedisConfig = testRedisConfig): StrategyHarness[] {
  const base = loadConfig({});
  const configFor = (name: StrategyName, redis: RedisConfig) => ({
    ...base,
    issuanceStrategy: name,
    // Claims of a 1,000-claim race queue behind one lock; generous on a busy test machine.
    redis: { ...redis, lockWaitMs: 30_000 },
    // The contract is the per-user limit; the claim rate limit (which redis-gate checks in its
    // script) would refuse a user's 100 concurrent claims first. Tested in test/redis/gate-rate-limit.test.ts.
    claimRateLimit: { ...base.claimRateLimit, max: 0 },
  });
  return [
    {
      name: 'redis-lock',
      setup: async (database) => {
        const settings = redisConfig();
        const redis = await openTestRedis(settings);
        const strategy = createStrategy(configFor('redis-lock', settings), database.db, redis);
        return {
          strategy,
          settle: async () => {},
          close: async () => {
            await dropPrefix(redis);
            await redis.close();
          },
        };
      },
    },
    {
      name: 'redis-gate',
      setup: async (database) => {
        const settings = redisConfig();
        const redis = await openTestRedis(settings);
        const strategy = createStrategy(configFor('redis-gate', settings), database.db, redis);
        const worker = new StreamWorker({
          db: database.db,
          redis,
          config: { ...base.worker, pollMs: 5, claimIdleMs: 2000 },
        });
        worker.start();
        return {
          strategy,
          settle: () => waitForDrain(database.db, redis, { timeoutMs: 30_000 }),
          close: async () => {
            await worker.stop();
            await dropPrefix(redis);
            await redis.close();
          },
        };
      },
    },
  ];
}

export const DB_HARNESSES: StrategyHarness[] = [
  { name: 'db-atomic', setup: async (database) => synchronous(new DbAtomicStrategy(database.db)) },
  { name: 'db-lock', setup: async (database) => synchronous(new DbLockStrategy(database.db)) },
  {
    name: 'db-batch',
    setup: async (database) =>
      synchronous(new DbBatchStrategy(database.db, { maxBatch: loadConfig({}).claimBatchMax })),
  },
];

/** All five strategies, the Redis ones on the test Redis. */
export const HARNESSES: StrategyHarness[] = [...DB_HARNESSES, ...redisHarnesses()];
