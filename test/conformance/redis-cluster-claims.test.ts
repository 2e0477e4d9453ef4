/**
 * The conformance suite on the Redis strategies over a 3-master Redis Cluster on loopback
 * (ports 7110-7112), started and torn down by this file. PostgreSQL only: the engine does not
 * change what the Cluster is tested for. Then redis-gate's claim rate limit, whose per-user
 * counters are KEYS of the admission script on the campaign's slot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateBench } from '../helpers/gate.js';
import { type RedisServer, startRedisCluster } from '../helpers/redis-server.js';
import { createTestDatabase } from '../support/database.js';
import { testRedisConfig } from '../support/redis.js';
import { redisHarnesses } from './strategies.js';
import { conformanceSuite } from './suite.js';

const PORTS = [7110, 7111, 7112];
let servers: RedisServer[] = [];

beforeAll(async () => {
  servers = await startRedisCluster(PORTS);
}, 60_000);
afterAll(async () => {
  for (const server of servers) await server.stop();
});

const clusterConfig = () =>
  testRedisConfig({ url: undefined, clusterNodes: PORTS.map((port) => ({ host: '127.0.0.1', port })) });

conformanceSuite(['postgres'], redisHarnesses(clusterConfig));

describe('redis-gate claim rate limit on Redis Cluster', () => {
  it('checks each user’s counter in the admission script, under the campaign’s slot', async () => {
    const database = await createTestDatabase('postgres');
    const bench = await createGateBench(database, clusterConfig(), { max: 2, windowMs: 60_000 });
    try {
      const campaign = await bench.newCampaign({ totalQuantity: 10, perUserLimit: 5 });
      const users = ['eager', 'eager', 'eager', 'calm', 'eager'];
      const outcomes = await Promise.all(users.map((user) => bench.claim(campaign.id, user)));
      expect(outcomes.map((o) => (o.claimId ? 'admitted' : o.code))).toEqual([
        'admitted',
        'admitted',
        'rate-limited',
        'admitted',
        'rate-limited',
      ]);
      const keys = bench.redis.keys.campaign(campaign.id);
      expect(await bench.redis.client.get(keys.claimRate('eager'))).toBe('2');
      expect(await bench.redis.client.pttl(keys.claimRate('eager'))).toBeGreaterThan(0);
    } finally {
      await bench.close();
      await database.close();
    }
  });
});
