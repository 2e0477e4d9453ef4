/**
 * A worker nothing can jam (issue 12), on PostgreSQL and the test Redis: claims the gate admitted
 * with a user id PostgreSQL cannot store, and streams of campaigns another database owns (the
 * same key prefix), flow through one worker with the good claims. Re-delivery is set beyond the
 * test's reach (claimIdleMs 10 min), so whatever settles did so at its first delivery. On one
 * Redis server and on a 3-node Cluster (started and stopped by this file, ports 7120-7122).
 * Checked: I3 — every acknowledged claim ends as a coupon or a dead letter; I4 — gate issued =
 * persisted + pending + dead letters; the good claims of a poisoned batch are acknowledged; a
 * drain of this database ignores the other database's campaigns.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisConfig } from '../../src/config.js';
import { queryRows } from '../../src/db/client.js';
import { waitForDrain } from '../../src/gate/drain.js';
import { reconcile } from '../../src/gate/reconcile.js';
import { WORKER_GROUP } from '../../src/gate/scripts.js';
import { createGateBench, type GateBench, waitUntil } from '../helpers/gate.js';
import { startRedisCluster } from '../helpers/redis-server.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { dropPrefix, testRedisConfig } from '../support/redis.js';

/** How each claim of `claimIds` ended in `database`: coupon, dead letter (with its error) or nothing yet. */
async function outcomes(database: TestDatabase, claimIds: string[]) {
  return queryRows<{ id: string; coupon: boolean; error: string | null; deliveries: number | null }>(
    database.db,
    sql`SELECT s.id, EXISTS (SELECT 1 FROM coupons c WHERE c.id::text = s.id) AS coupon,
               d.error, d.deliveries
        FROM unnest(${sql.param(claimIds)}::text[]) AS s(id)
        LEFT JOIN dead_letters d ON d.claim_id = s.id`,
  );
}

/** Ports of this file's Cluster, in the range kept for tests (7100-7199), apart from other files'. */
const CLUSTER_PORTS = [7120, 7121, 7122];

/** Where the test runs: a Redis config, and how to tear the servers it started down. */
const SETUPS: [string, () => Promise<{ config: RedisConfig; stop(): Promise<void> }>][] = [
  ['one Redis server', async () => ({ config: testRedisConfig(), stop: async () => {} })],
  [
    'a 3-node Redis Cluster',
    async () => {
      const servers = await startRedisCluster(CLUSTER_PORTS);
      return {
        config: testRedisConfig({
          url: undefined,
          clusterNodes: CLUSTER_PORTS.map((port) => ({ host: '127.0.0.1', port })),
        }),
        stop: async () => {
          for (const server of servers) await server.stop();
        },
      };
    },
  ],
];

describe.each(SETUPS)('a worker nothing can jam, on %s', (_label, setUp) => {
  let database: TestDatabase;
  let otherDatabase: TestDatabase;
  let bench: GateBench;
  let otherBench: GateBench;
  let stopRedis: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const redis = await setUp();
    stopRedis = redis.stop;
    database = await createTestDatabase('postgres');
    otherDatabase = await createTestDatabase('postgres');
    bench = await createGateBench(database, redis.config);
    // Another deployment on the same Redis key prefix: its gates and streams are visible here.
    otherBench = await createGateBench(otherDatabase, redis.config);
  }, 60_000);
  afterAll(async () => {
    if (bench) await dropPrefix(bench.redis);
    await otherBench?.close();
    await bench?.close();
    await otherDatabase?.close();
    await database?.close();
    await stopRedis?.();
  });

  it('settles poisoned and orphaned entries at their first delivery and acknowledges the rest of the batch', async () => {
    const campaign = await bench.newCampaign({ totalQuantity: 100 });
    const orphan = await otherBench.newCampaign({ totalQuantity: 100 });
    const claimAll = (campaignId: string, userIds: string[], on: GateBench) =>
      Promise.all(userIds.map((userId) => on.claim(campaignId, userId)));
    // Admitted by the gate itself (the API refuses these ids now; entries already queued remain).
    const poisoned = ['x\u0000y', '\u0000', 'tail\u0000'];
    const admitted = await claimAll(
      campaign.id,
      [
        ...Array.from({ length: 10 }, (_, i) => `good-${i}`),
        ...poisoned,
        ...Array.from({ length: 10 }, (_, i) => `more-${i}`),
      ],
      bench,
    );
    const orphans = await claimAll(
      orphan.id,
      Array.from({ length: 5 }, (_, i) => `elsewhere-${i}`),
      otherBench,
    );
    const claimIds = admitted.map((a) => a.claimId!);
    const orphanIds = orphans.map((a) => a.claimId!);
    expect([...claimIds, ...orphanIds].every(Boolean)).toBe(true);

    bench.startWorker({ batchSize: 50, claimIdleMs: 600_000 });
    await waitUntil(
      () => outcomes(database, [...claimIds, ...orphanIds]),
      (rows) => rows.every((row) => row.coupon || row.error !== null),
    );

    const byId = new Map((await outcomes(database, [...claimIds, ...orphanIds])).map((row) => [row.id, row]));
    // I3: the good claims are coupons, the poisoned and orphaned ones dead letters, each at once.
    const poisonedIds = new Set(claimIds.slice(10, 10 + poisoned.length));
    for (const id of claimIds) {
      const row = byId.get(id)!;
      if (poisonedIds.has(id)) expect(row).toMatchObject({ coupon: false, deliveries: 1 });
      else expect(row).toMatchObject({ coupon: true, error: null });
      if (poisonedIds.has(id)) expect(row.error).toMatch(/^malformed-entry: /);
    }
    for (const id of orphanIds) {
      expect(byId.get(id)).toMatchObject({ coupon: false, deliveries: 1 });
      expect(byId.get(id)!.error).toMatch(/^campaign-unknown: /);
    }
    // The dead letter keeps what the entry held, NUL escaped.
    const [letter] = await queryRows<{ fields: Record<string, string> }>(
      database.db,
      sql`SELECT fields FROM dead_letters WHERE claim_id = ${claimIds[10]!}`,
    );
    expect(letter!.fields.u).toBe('x\\u0000y');

    // Nothing left pending in either stream: the whole batch was acknowledged.
    for (const id of [campaign.id, orphan.id]) {
      const keys = bench.redis.keys.campaign(id);
      const pending = (await bench.redis.client.xpending(keys.stream, WORKER_GROUP)) as [
        number,
        ...unknown[],
      ];
      expect(pending[0]).toBe(0);
      expect(await bench.redis.client.xlen(keys.stream)).toBe(0);
    }

    // I4 on this database's campaign; a drain of this database does not wait for the other's.
    await waitForDrain(database.db, bench.redis, { timeoutMs: 20_000 });
    const [row] = await reconcile(database.db, bench.redis, { campaignIds: [campaign.id], attempts: 1 });
    expect(row).toMatchObject({ gateIssued: 23, persisted: 20, pending: 0, deadLetters: 3, ok: true });
  });

  it("drains this database without waiting for the other database's campaigns", async () => {
    // Only the other deployment's worker runs: this one's would dead-letter the claims first.
    await bench.stopWorkers();
    const elsewhere = await otherBench.newCampaign({ totalQuantity: 10 });
    const claims = await Promise.all([1, 2, 3].map((i) => otherBench.claim(elsewhere.id, `there-${i}`)));
    expect(claims.every((c) => c.claimId)).toBe(true);
    // The other deployment's own worker persists them in its database: its gate says 3 issued,
    // which this database can never account for.
    otherBench.startWorker();
    await waitUntil(
      () => otherBench.counts(elsewhere.id),
      (c) => c.coupons === 3,
    );
    await otherBench.stopWorkers();
    const [foreign] = await reconcile(database.db, bench.redis, { campaignIds: [elsewhere.id], attempts: 1 });
    expect(foreign).toMatchObject({ gateIssued: 3, persisted: 0, ok: false });
    await waitForDrain(database.db, bench.redis, { timeoutMs: 5_000 });
  });
});
