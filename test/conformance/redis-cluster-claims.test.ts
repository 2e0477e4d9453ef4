/**
 * The conformance suite on the Redis strategies over a 3-master Redis Cluster on loopback
 * (ports 7110-7112), started and torn down by this file. PostgreSQL only: the engine does not
 * change what the Cluster is tested for.
 */
import { afterAll, beforeAll } from 'vitest';
import { type RedisServer, startRedisCluster } from '../helpers/redis-server.js';
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

conformanceSuite(
  ['postgres'],
  redisHarnesses(() =>
    testRedisConfig({ url: undefined, clusterNodes: PORTS.map((port) => ({ host: '127.0.0.1', port })) }),
  ),
);
