/**
 * Webhook dispatchers under faults and contention, on PostgreSQL and the test Redis:
 * - redis-gate: `coupon.issued` written by the worker's persist statement and
 *   `claim.dead_lettered` by its dead letter, both delivered;
 * - a `stampede worker` process killed with SIGKILL while its deliveries are in flight (the
 *   receiver holds them open) loses none: once its leases run out, another dispatcher sends each
 *   event again with the same webhook-id;
 * - two dispatchers (two pools, as two processes) deliver every event of a flash sale exactly
 *   once and never hold one delivery at the same time (the receiver counts requests in flight per
 *   webhook-id).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase, queryRows } from '../../src/db/client.js';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.js';
import { bearer, createCampaign, TEST_JWT_SECRET, useTestApp } from '../helpers/app.js';
import { STAMPEDE_MAIN } from '../helpers/cli.js';
import { createGateBench, waitUntil } from '../helpers/gate.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { dropPrefix, testRedisConfig } from '../support/redis.js';

const silent = { warn: () => {} };
const webhookConfig = { ...loadConfig({}).webhooks, allowPrivateUrls: true, retryBaseMs: 10 };

describe('webhook dispatchers on PostgreSQL', () => {
  const t = useTestApp('postgres', { config: { webhooks: webhookConfig } });
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    await receiver.start();
  });
  afterAll(async () => {
    await receiver.close();
  });

  const subscribe = async (events: string[], path: string) => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/webhooks',
      headers: bearer(t.adminToken),
      payload: { url: `${receiver.url}${path}`, events },
    });
    expect(response.statusCode).toBe(201);
    return response.json() as { id: string };
  };

  const dispatcher = (db = t.database.db, timeoutMs = 5000) => {
    const started = new WebhookDispatcher({
      db,
      concurrency: 8,
      pollMs: 10,
      retryBaseMs: 10,
      timeoutMs,
      allowPrivateUrls: true,
      logger: silent,
    });
    started.start();
    return started;
  };

  const deliveriesOf = (endpointId: string) =>
    queryRows<{
      event_id: string;
      status: string;
      attempts: number;
      last_error: string | null;
      leased: boolean;
    }>(
      t.database.db,
      sql`SELECT event_id, status, attempts, last_error, locked_until > now() AS leased
          FROM webhook_deliveries WHERE endpoint_id = ${endpointId}`,
    );

  it('delivers coupon.issued persisted by the redis-gate worker and claim.dead_lettered', async () => {
    await subscribe(['coupon.issued', 'claim.dead_lettered'], '/gate');
    const bench = await createGateBench(t.database, testRedisConfig());
    const running = dispatcher();
    try {
      const campaign = await bench.newCampaign({ totalQuantity: 10 });
      const good = await Promise.all(['g1', 'g2', 'g3', 'g4'].map((user) => bench.claim(campaign.id, user)));
      // Admitted by the gate, but PostgreSQL cannot store the user id: a dead letter.
      const poisoned = await bench.claim(campaign.id, 'x\u0000y');
      bench.startWorker({ claimIdleMs: 600_000 });
      const received = await receiver.waitFor(
        (all) =>
          all.filter((r) => r.path === '/gate' && r.json.type === 'coupon.issued').length === 4 &&
          all.some((r) => r.path === '/gate' && r.json.type === 'claim.dead_lettered'),
      );
      const issued = received.filter((r) => r.path === '/gate' && r.json.type === 'coupon.issued');
      expect(issued.map((r) => r.json.data.id).sort()).toEqual(good.map((g) => g.claimId).sort());
      expect(issued.every((r) => r.json.data.campaignId === campaign.id)).toBe(true);
      const dead = received.find((r) => r.path === '/gate' && r.json.type === 'claim.dead_lettered')!;
      expect(dead.json.data).toMatchObject({
        claimId: poisoned.claimId,
        campaignId: campaign.id,
        reason: 'malformed-entry',
      });
    } finally {
      await running.stop();
      await dropPrefix(bench.redis);
      await bench.close();
    }
  });

  it('loses no event when a stampede worker is killed with SIGKILL mid-delivery', async () => {
    const endpoint = await subscribe(['campaign.created'], '/killed');
    // First attempts are held open until the connection drops; later ones are answered.
    receiver.respond = (r) =>
      r.path === '/killed' && r.attempt === 1
        ? { status: 204, hold: new Promise(() => {}) }
        : { status: 204 };
    const child = spawnWorker(t.database.url!);
    let running: WebhookDispatcher | undefined;
    try {
      const campaigns = await Promise.all(
        Array.from({ length: 5 }, (_, i) => createCampaign(t, { name: `k${i}` })),
      );
      await receiver.waitFor((all) => all.filter((r) => r.path === '/killed').length === 5, 60_000);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      // Mid-delivery: each was attempted once, nothing recorded, still leased by the dead process.
      const held = await deliveriesOf(endpoint.id);
      expect(held).toHaveLength(5);
      for (const row of held)
        expect(row).toMatchObject({ status: 'pending', attempts: 1, last_error: null, leased: true });

      running = dispatcher();
      const received = await receiver.waitFor(
        (all) => all.filter((r) => r.path === '/killed' && r.attempt === 2).length === 5,
        30_000,
      );
      const killed = received.filter((r) => r.path === '/killed');
      const eventIds = held.map((row) => row.event_id).sort();
      expect(
        killed
          .filter((r) => r.attempt === 1)
          .map((r) => r.id)
          .sort(),
      ).toEqual(eventIds);
      expect(
        killed
          .filter((r) => r.attempt === 2)
          .map((r) => r.id)
          .sort(),
      ).toEqual(eventIds);
      expect(killed.map((r) => r.json.data.id).sort()).toEqual(
        [...campaigns, ...campaigns].map((c) => c.id).sort(),
      );
      const after = await waitUntil(
        () => deliveriesOf(endpoint.id),
        (rows) => rows.every((row) => row.status === 'delivered'),
      );
      for (const row of after) expect(row.attempts).toBe(2);
    } finally {
      receiver.respond = () => ({ status: 204 });
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await running?.stop();
    }
  });

  it('two dispatchers deliver each coupon.issued of a flash sale once, never twice at a time', async () => {
    const endpoint = await subscribe(['coupon.issued'], '/pair');
    receiver.maxInFlightPerId = 0;
    // Each answer takes a little while, so both dispatchers have requests in flight together.
    receiver.respond = (r) =>
      r.path === '/pair'
        ? { status: 204, hold: new Promise((resolve) => setTimeout(resolve, 10)) }
        : { status: 204 };
    const other = await openDatabase({ url: t.database.url!, poolSize: 4 });
    const first = dispatcher();
    const second = dispatcher(other.db);
    try {
      const sale = await createCampaign(t, { totalQuantity: 200 });
      const claims = await Promise.all(
        Array.from({ length: 200 }, async (_, i) =>
          t.app.inject({
            method: 'POST',
            url: `/v1/campaigns/${sale.id}/claims`,
            headers: bearer(await t.userToken(`buyer-${i}`)),
          }),
        ),
      );
      expect(claims.every((c) => c.statusCode === 201)).toBe(true);
      await receiver.waitFor(
        (all) => new Set(all.filter((r) => r.path === '/pair').map((r) => r.id)).size === 200,
        60_000,
      );
      const rows = await waitUntil(
        () => deliveriesOf(endpoint.id),
        (all) => all.every((row) => row.status === 'delivered'),
      );
      expect(rows).toHaveLength(200);
      // Leased once each: a second lease would have counted a second attempt.
      expect(rows.every((row) => row.attempts === 1)).toBe(true);
      expect(receiver.received.filter((r) => r.path === '/pair')).toHaveLength(200);
      expect(receiver.maxInFlightPerId).toBe(1);
    } finally {
      receiver.respond = () => ({ status: 204 });
      await first.stop();
      await second.stop();
      await other.close();
    }
  });
});

/** `stampede worker` on `databaseUrl`, with a dispatcher that may call the local receiver. */
function spawnWorker(databaseUrl: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', STAMPEDE_MAIN, 'worker'], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      REDIS_URL: testRedisConfig().url,
      REDIS_KEY_PREFIX: `t:${randomBytes(5).toString('hex')}:`,
      WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      // A lease of 2 × 3 s + 1 s: long enough to kill the process before its requests time out.
      WEBHOOK_TIMEOUT_MS: '3000',
      WEBHOOK_POLL_MS: '10',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
