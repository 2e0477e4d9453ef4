import { defineConfig } from 'vitest/config';

/**
 * Integration tests talk to the real PostgreSQL (TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/test) and Redis (TEST_REDIS_URL, default redis://127.0.0.1:6379),
 * and to in-memory PGlite. Each test file creates its own database / key prefix.
 */
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
