/**
 * Redis under failure, on Redis servers this file starts and stops by PID (ports 7101-7103):
 * kill -9 of an AOF `appendfsync always` Redis during a burst, FLUSHALL mid-campaign, and the
 * circuit breaker of the claim path while Redis is down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDrain } from '../../src/gate/drain.js';
import { reconcile } from '../../src/gate/reconcile.js';
import { bearer, createCampaign, createTestApp, problemOf, type TestApp } from '../helpers/app.js';
import { createGateBench, type GateBench, missingCoupons, waitUntil } from '../helpers/gate.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testRedisConfig } from '../support/redis.js';

describe('redis faults', () => {
  let database: TestDatabase;
  const servers: RedisServer[] = [];
  const benches: GateBench[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    for (const bench of benches) await bench.close();
    for (const server of servers) await server.stop();
    await database?.close();
  });

  async function benchOn(port: number, args: string[] = []) {
    const server = await startRedisServer(port, args);
    servers.push(server);
    const bench = await createGateBench(database, testRedisConfig({ url: server.url }));
    benches.push(bench);
    return { server, bench };
  }

  it('loses no acknowledged claim when an appendfsync-always Redis is killed with -9 during a burst', async () => {
    const { server, bench } = await benchOn(7102, ['--appendonly', 'yes', '--appendfsync', 'always']);
    bench.startWorker({ claimIdleMs: 500 });
    const campaign = await bench.newCampaign({ totalQuantity: 5000 });
    const acknowledged: string[] = [];
    const refused: Record<string, number> = {};
    let next = 0;
    const wave = async (size: number) => {
      const results = await Promise.all(
        Array.from({ length: size }, () => bench.claim(campaign.id, `b-${next++}`)),
      );
      for (const r of results) {
        if (r.claimId) acknowledged.push(r.claimId);
        else refused[r.code!] = (refused[r.code!] ?? 0) + 1;
      }
    };
    await wave(300);
    const burst = Promise.all([wave(400), wave(400), wave(400)]);
    await waitUntil(
      async () => acknowledged.length,
      (n) => n >= 500,
      20_000,
    );
    await server.kill('SIGKILL');
    await burst;
    await server.restart();
    // Claims work again once the breaker lets a trial call through.
    await waitUntil(
      async () => (await bench.claim(campaign.id, `after-${next++}`)).claimId,
      (id) => {
        if (id) acknowledged.push(id);
        return id !== undefined;
      },
      20_000,
    );
    await wave(200);
    await waitForDrain(database.db, bench.redis, { timeoutMs: 30_000, campaignIds: [campaign.id] });

    expect(Object.keys(refused).every((code) => code === 'service-unavailable')).toBe(true);
    expect(await missingCoupons(database, acknowledged)).toEqual([]);
    const counts = await bench.counts(campaign.id);
    expect(counts.coupons).toBe(counts.distinctCoupons);
    expect(counts.maxPerUser).toBe(1);
    expect(counts.issuedCount).toBe(counts.coupons);
    expect(counts.coupons).toBeGreaterThanOrEqual(acknowledged.length);
  });

  it('reloads the gate from PostgreSQL after FLUSHALL: stock never exceeded, no user issued twice', async () => {
    const { bench } = await benchOn(7103);
    bench.startWorker({ claimIdleMs: 500 });
    const campaign = await bench.newCampaign({ totalQuantity: 400, perUserLimit: 1 });
    const first = await Promise.all(
      Array.from({ length: 300 }, (_, i) => bench.claim(campaign.id, `f-${i}`)),
    );
    expect(first.filter((r) => r.claimId)).toHaveLength(300);
    await waitUntil(
      () => bench.counts(campaign.id),
      (c) => c.coupons >= 50,
    );
    await bench.redis.client.flushall();
    // Everyone tries again (those already issued must be refused), plus newcomers for the rest.
    const second = await Promise.all(
      Array.from({ length: 600 }, (_, i) => bench.claim(campaign.id, `f-${i}`)),
    );
    await waitForDrain(database.db, bench.redis, { timeoutMs: 30_000, campaignIds: [campaign.id] });

    const counts = await bench.counts(campaign.id);
    expect(counts.coupons).toBeLessThanOrEqual(400);
    expect(counts.maxPerUser).toBe(1);
    expect(counts.issuedCount).toBe(counts.coupons);
    const rejected = second.filter((r) => r.code).map((r) => r.code);
    expect(new Set(rejected)).toEqual(new Set(['already-claimed', 'sold-out']));
    const [row] = await reconcile(database.db, bench.redis, { campaignIds: [campaign.id] });
    expect(row).toMatchObject({ ok: true, pending: 0 });
    expect(row!.gateIssued).toBeLessThanOrEqual(400);
  });

  describe('circuit breaker', () => {
    let t: TestApp;
    let server: RedisServer;

    beforeAll(async () => {
      server = await startRedisServer(7101);
      servers.push(server);
      t = await createTestApp('postgres', {
        config: {
          issuanceStrategy: 'redis-gate',
          redis: { ...testRedisConfig({ url: server.url }), breakerFailures: 2, breakerHalfOpenMs: 300 },
        },
      });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('answers 503 with Retry-After while Redis is down, never issuing elsewhere, and recovers', async () => {
      const campaign = await createCampaign(t, { totalQuantity: 10 });
      const claim = async (user: string) =>
        t.app.inject({
          method: 'POST',
          url: `/v1/campaigns/${campaign.id}/claims`,
          headers: bearer(await t.userToken(user)),
        });
      expect((await claim('before')).statusCode).toBe(202);
      await server.kill('SIGKILL');
      for (let i = 0; i < 4; i++) {
        const response = await claim(`down-${i}`);
        expect(problemOf(response)).toMatchObject({ status: 503, body: { code: 'service-unavailable' } });
        expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(response.headers.location).toBeUndefined();
      }
      expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);

      await server.restart();
      const recovered = await waitUntil(
        async () => (await claim('after')).statusCode,
        (status) => status === 202,
        20_000,
      );
      expect(recovered).toBe(202);
    });
  });
});
