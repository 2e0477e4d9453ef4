/**
 * The issuance strategies under conformance test. Each harness builds its strategy on a test
 * database; `settle()` returns once every admitted claim is persisted (immediately for the
 * synchronous database strategies; the Redis gate waits for its workers).
 */
import type { StrategyName } from '../../src/config.js';
import { DbAtomicStrategy } from '../../src/issuance/strategies/db-atomic.js';
import { DbLockStrategy } from '../../src/issuance/strategies/db-lock.js';
import type { IssuanceStrategy } from '../../src/issuance/strategies/types.js';
import type { TestDatabase } from '../helpers/database.js';

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

export const HARNESSES: StrategyHarness[] = [
  { name: 'db-atomic', setup: async (database) => synchronous(new DbAtomicStrategy(database.db)) },
  { name: 'db-lock', setup: async (database) => synchronous(new DbLockStrategy(database.db)) },
];
