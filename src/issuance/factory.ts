/**
 * Builds the configured issuance strategy. The database strategies need only the database; the
 * Redis strategies (redis-lock, redis-gate) are added by the Redis module.
 */
import type { StrategyName } from '../config.js';
import type { Db } from '../db/client.js';
import { DomainError } from '../errors.js';
import { DbAtomicStrategy } from './strategies/db-atomic.js';
import { DbLockStrategy } from './strategies/db-lock.js';
import type { IssuanceStrategy } from './strategies/types.js';

export function createDbStrategy(name: StrategyName, db: Db): IssuanceStrategy {
  switch (name) {
    case 'db-atomic':
      return new DbAtomicStrategy(db);
    case 'db-lock':
      return new DbLockStrategy(db);
    default:
      throw new DomainError('not-implemented', `the ${name} strategy needs Redis`);
  }
}
