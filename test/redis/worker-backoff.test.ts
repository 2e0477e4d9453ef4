/**
 * A redis-gate worker that cannot reach Redis backs off exponentially and logs once per back-off
 * step (not once per loop and attempt), then says when it recovers.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { StreamWorker } from '../../src/gate/worker.js';
import { openRedis } from '../../src/redis/connection.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testRedisConfig } from '../support/redis.js';

/** A port on 127.0.0.1 where nothing listens. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('worker back-off', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await database?.close();
  });

  it('waits longer after each failure and logs each step once', async () => {
    const redis = openRedis(
      testRedisConfig({ url: `redis://127.0.0.1:${await freePort()}` }),
      'backoff-test',
    );
    const warnings: { retryInMs: number; at: number }[] = [];
    const logger = {
      info: () => {},
      error: () => {},
      warn: (fields: unknown) => {
        warnings.push({ ...(fields as { retryInMs: number }), at: Date.now() });
      },
    };
    const worker = new StreamWorker({
      db: database.db,
      redis,
      config: loadConfig({}).worker,
      concurrency: 4,
      logger: logger as never,
    });
    worker.start();
    await new Promise((resolve) => setTimeout(resolve, 4000));
    await worker.stop();
    redis.client.disconnect();
    // A fixed 0.5 s pause per loop would log about 4 loops × 8 = 32 times in 4 s.
    expect(warnings.length).toBeGreaterThanOrEqual(2);
    expect(warnings.length).toBeLessThanOrEqual(6);
    // Each step is waited out in full before the next is logged (20 ms of timer slack).
    for (let i = 1; i < warnings.length; i++) {
      expect(warnings[i]!.at - warnings[i - 1]!.at).toBeGreaterThanOrEqual(warnings[i - 1]!.retryInMs - 20);
    }
    expect(worker.stats.errors).toBeGreaterThanOrEqual(warnings.length);
  });
});
