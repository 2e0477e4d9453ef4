/**
 * The strategy factory of the composition root: builds the configured issuance strategy. The database strategies need only the database; the
 * Redis strategies (redis-lock, redis-gate) also need the process's Redis connection, and get a
 * circuit breaker around their Redis calls. redis-gate also gets the claim rate limit
 * (CLAIM_RATE_LIMIT_*), which it checks in its admission script.
 */
import { type Config, ConfigError, type StrategyName } from '../config.js';
import type { Db } from '../db/client.js';
import { DomainError } from '../errors.js';
import { RedisGateStrategy } from '../gate/strategy.js';
import { DbAtomicStrategy } from '../issuance/strategies/db-atomic.js';
import { DbBatchStrategy } from '../issuance/strategies/db-batch.js';
import { DbLockStrategy } from '../issuance/strategies/db-lock.js';
import { RedisLockStrategy } from '../issuance/strategies/redis-lock.js';
import type { IssuanceStrategy } from '../issuance/strategies/types.js';
import { reportBreakerState } from '../metrics/metrics.js';
import { RedisBreaker } from '../redis/breaker.js';
import type { RedisConnection } from '../redis/connection.js';

/**
 * The strategy named by `config.issuanceStrategy`.
 * @throws ConfigError naming REDIS_URL when a Redis strategy has no Redis connection.
 */
export function createStrategy(config: Config, db: Db, redis: RedisConnection | undefined): IssuanceStrategy {
  const name = config.issuanceStrategy;
  if (name === 'db-atomic' || name === 'db-lock' || name === 'db-batch')
    return createDbStrategy(name, db, { maxBatch: config.claimBatchMax });
  if (!redis)
    throw new ConfigError('REDIS_URL', `is required by ISSUANCE_STRATEGY=${name} (or REDIS_CLUSTER_NODES)`);
  const breaker = new RedisBreaker({
    failures: config.redis.breakerFailures,
    halfOpenMs: config.redis.breakerHalfOpenMs,
  });
  reportBreakerState('redis', breaker.state);
  breaker.onStateChange((state) => reportBreakerState('redis', state));
  if (name === 'redis-lock') {
    return new RedisLockStrategy(db, redis, breaker, {
      leaseMs: config.redis.lockLeaseMs,
      waitMs: config.redis.lockWaitMs,
    });
  }
  return new RedisGateStrategy(db, redis, breaker, {
    loadWaitMs: config.redis.lockWaitMs,
    claimRateLimit: config.claimRateLimit,
  });
}

/** A database strategy; `options.maxBatch` is db-batch's CLAIM_BATCH_MAX. */
export function createDbStrategy(
  name: StrategyName,
  db: Db,
  options: { maxBatch: number },
): IssuanceStrategy {
  switch (name) {
    case 'db-batch':
      return new DbBatchStrategy(db, options);
    case 'db-atomic':
      return new DbAtomicStrategy(db);
    case 'db-lock':
      return new DbLockStrategy(db);
    default:
      throw new DomainError('not-implemented', `the ${name} strategy needs Redis`);
  }
}
