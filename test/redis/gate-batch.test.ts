/**
 * redis-gate admits the claims of one campaign that arrive in one event-loop turn with one script
 * call (admitClaims.lua), judging them in arrival order exactly as one call each would: several
 * claims of one user against the per-user limit, the last stock to the earliest claims. The
 * claim rate limit is on and checked by the same call: no other command per claim. Counted on a
 * Redis server of this file's own, whose command statistics no other test touches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateBench, type GateBench } from '../helpers/gate.js';
import { monitorCommands, type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testRedisConfig } from '../support/redis.js';

const PORT = 7130;

describe('redis-gate batches', () => {
  let server: RedisServer;
  let database: TestDatabase;
  let bench: GateBench;

  beforeAll(async () => {
    server = await startRedisServer(PORT);
    database = await createTestDatabase('postgres');
    bench = await createGateBench(database, testRedisConfig({ url: server.url }), {
      max: 3,
      windowMs: 60_000,
    });
  });
  afterAll(async () => {
    await bench?.close();
    await database?.close();
    await server?.stop();
  });

  it('admits a turn of claims with one script call, in arrival order', async () => {
    const campaign = await bench.newCampaign({ totalQuantity: 5, perUserLimit: 2 });
    // Loads the gate (and warms the script cache) with a first claim.
    expect((await bench.claim(campaign.id, 'warm')).claimId).toBeDefined();

    const monitor = await monitorCommands(PORT);
    // One turn: four claims of u1 (limit 2, rate limit 3), then five other users for the 4
    // coupons left.
    const users = ['u1', 'u1', 'u1', 'u1', 'a', 'b', 'c', 'd', 'e'];
    const outcomes = await Promise.all(users.map((user) => bench.claim(campaign.id, user)));
    const commands = await monitor.stop();

    expect(outcomes.map((o) => (o.claimId ? 'admitted' : o.code))).toEqual([
      'admitted',
      'admitted',
      'already-claimed',
      'rate-limited',
      'admitted',
      'admitted',
      'sold-out',
      'sold-out',
      'sold-out',
    ]);
    // One command sent for the whole turn; the rate-limit counters were read and written inside it.
    expect(commands.filter((c) => c.source !== 'lua').map((c) => c.name)).toEqual(['evalsha']);
    const rateKey = bench.redis.keys.campaign(campaign.id).claimRate('u1');
    expect(commands.filter((c) => c.source === 'lua' && c.args[0] === rateKey).map((c) => c.name)).toEqual([
      'get',
      'set',
      'get',
      'pttl',
      'incr',
      'get',
      'pttl',
      'incr',
      'get',
      'pttl',
    ]);
    expect(await bench.redis.client.get(rateKey)).toBe('3');
    const gate = await bench.redis.client.hget(bench.redis.keys.campaign(campaign.id).gate, 'issued');
    expect(Number(gate)).toBe(5);
    expect(await bench.redis.client.xlen(bench.redis.keys.campaign(campaign.id).stream)).toBe(5);
  });
});
