import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { openRedis, type RedisConnection } from '../../src/redis/connection.js';
import { MUTEX_SCRIPTS, releaseLock } from '../../src/redis/mutex.js';
import { testRedisConfig } from '../support/redis.js';

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

describe('redis connection', () => {
  const opened: RedisConnection[] = [];
  afterAll(async () => {
    for (const connection of opened) await connection.close();
  });

  it('answers PING on the test server and runs a defined script through EVALSHA', async () => {
    const connection = openRedis(testRedisConfig());
    opened.push(connection);
    await connection.ping();
    const key = connection.keys.campaign('x').lock;
    await connection.client.set(key, 'token-1', 'PX', 10_000);
    const released = await releaseLock(connection.client, key, 'token-2');
    expect(released).toBe(false);
    expect(await connection.client.script('EXISTS', sha1(MUTEX_SCRIPTS[0].source))).toEqual([1]);
    expect(await connection.client.get(key)).toBe('token-1');
    await connection.client.del(key);
  });

  it('refuses a Redis strategy without REDIS_URL, naming the variable', () => {
    expect(() => loadConfig({ ISSUANCE_STRATEGY: 'redis-gate' })).toThrow(ConfigError);
    expect(() => loadConfig({ ISSUANCE_STRATEGY: 'redis-gate' })).toThrow(/REDIS_URL/);
    expect(
      loadConfig({ ISSUANCE_STRATEGY: 'redis-gate', REDIS_URL: 'redis://127.0.0.1:6379' }).redis.url,
    ).toBe('redis://127.0.0.1:6379');
  });

  it('parses REDIS_CLUSTER_NODES into seed nodes and refuses both variables at once', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7001,localhost:7002' });
    expect(config.redis.clusterNodes).toEqual([
      { host: '127.0.0.1', port: 7001 },
      { host: 'localhost', port: 7002 },
    ]);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1' })).toThrow(/REDIS_CLUSTER_NODES/);
    expect(() =>
      loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7001' }),
    ).toThrow(/REDIS_CLUSTER_NODES/);
  });

  it('refuses a lock lease not below the database statement timeout', () => {
    expect(() => loadConfig({ REDIS_LOCK_LEASE_MS: '5000', DB_STATEMENT_TIMEOUT_MS: '5000' })).toThrow(
      /REDIS_LOCK_LEASE_MS/,
    );
  });
});
