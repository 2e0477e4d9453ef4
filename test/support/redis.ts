/**
 * Redis for tests: the real server at TEST_REDIS_URL (default redis://127.0.0.1:6379) with a
 * fresh key prefix per test file, so files never see each other's keys. A test that cannot reach
 * Redis fails (commands reject): it is never skipped.
 */
import { randomBytes } from 'node:crypto';
import { loadConfig, type RedisConfig } from '../../src/config.js';
import { openRedis, type RedisConnection } from '../../src/redis/connection.js';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A Redis config on the test server (or `overrides.url`/`clusterNodes`) with a unique prefix. */
export function testRedisConfig(overrides: Partial<RedisConfig> = {}): RedisConfig {
  return {
    ...loadConfig({}).redis,
    url: TEST_REDIS_URL,
    keyPrefix: `t:${randomBytes(5).toString('hex')}:`,
    ...overrides,
  };
}

/** Opens a connection and waits until Redis answers (throws if it does not). */
export async function openTestRedis(config: RedisConfig = testRedisConfig()): Promise<RedisConnection> {
  const connection = openRedis(config, 'test');
  await connection.ping();
  return connection;
}

/** Deletes every key of a prefix (single node only; cluster tests drop their servers instead). */
export async function dropPrefix(connection: RedisConnection): Promise<void> {
  if (connection.cluster) return;
  const client = connection.client as import('ioredis').Redis;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${connection.keys.prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
}
