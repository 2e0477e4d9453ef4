/**
 * The worker under failure, on PostgreSQL and the test Redis: a crash after COMMIT and before
 * XACK, a poison entry, and `kill -9` of a worker process while claims flow.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timeOrderedId } from '../../src/db/ids.js';
import { listDeadLetters, retryDeadLetters } from '../../src/gate/dead-letters.js';
import { waitForDrain } from '../../src/gate/drain.js';
import { GateLoader } from '../../src/gate/loader.js';
import { insertDeadLetter, persistBatch } from '../../src/gate/persist.js';
import { reconcile } from '../../src/gate/reconcile.js';
import { ackClaimsArgs, GATE_SCRIPTS, WORKER_GROUP } from '../../src/gate/scripts.js';
import { decodeStreamEntry } from '../../src/gate/stream-entry.js';
import { runScript } from '../../src/redis/scripts.js';
import { TEST_JWT_SECRET } from '../helpers/app.js';
import { createGateBench, type GateBench, missingCoupons, waitUntil } from '../helpers/gate.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { dropPrefix, testRedisConfig } from '../support/redis.js';

describe('worker faults', () => {
  let database: TestDatabase;
  let bench: GateBench;
  const redisConfig = testRedisConfig();

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    bench = await createGateBench(database, redisConfig);
  });
  afterAll(async () => {
    if (bench) await dropPrefix(bench.redis);
    await bench?.close();
    await database?.close();
  });

  it('persists a batch committed but never acknowledged exactly once when it is re-delivered', async () => {
    const campaign = await bench.newCampaign({ totalQuantity: 50 });
    const admitted = await Promise.all(
      Array.from({ length: 30 }, (_, i) => bench.claim(campaign.id, `ack-${i}`)),
    );
    expect(admitted.every((a) => a.claimId)).toBe(true);
    // A worker reads the batch and commits it, then "crashes" before XACK.
    const keys = bench.redis.keys.campaign(campaign.id);
    const reply = (await bench.redis.client.xreadgroup(
      'GROUP',
      WORKER_GROUP,
      'crashed',
      'COUNT',
      100,
      'STREAMS',
      keys.stream,
      '>',
    )) as [string, [string, string[]][]][];
    const items = reply[0]![1].map(([entryId, fields]) => ({
      entryId,
      fields,
      claim: decodeStreamEntry(fields),
      deliveries: 1,
    }));
    expect(await persistBatch(database.db, campaign.id, items)).toEqual({ inserted: 30, deadLettered: 0 });

    bench.startWorker({ claimIdleMs: 50 });
    await waitForDrain(database.db, bench.redis, { timeoutMs: 20_000, campaignIds: [campaign.id] });
    expect(await bench.counts(campaign.id)).toEqual({
      coupons: 30,
      distinctCoupons: 30,
      maxPerUser: 1,
      issuedCount: 30,
      deadLetters: 0,
    });
    expect(await bench.redis.client.xlen(keys.stream)).toBe(0);
  });

  it('persists a batch mixing new, already stored and slot-taken claims: each new one once, the taken slot dead-lettered', async () => {
    const campaign = await bench.newCampaign({ totalQuantity: 50 });
    const item = (i: number, userId: string) => {
      const claim = {
        claimId: timeOrderedId(),
        userId,
        userSlot: 1,
        admittedMs: Date.now(),
        campaignId: campaign.id,
      };
      return { entryId: `${i}-0`, fields: ['c', claim.claimId], claim, deliveries: 1 };
    };
    const first = [item(1, 'mix-a'), item(2, 'mix-b')];
    // A first delivery takes the fast path: every row new.
    expect(await persistBatch(database.db, campaign.id, first)).toEqual({ inserted: 2, deadLettered: 0 });
    // Re-delivered with new claims and one for a slot another coupon holds (user mix-a, slot 1).
    const taken = item(3, 'mix-a');
    const mixed = [...first, item(4, 'mix-c'), taken, item(5, 'mix-d')];
    expect(await persistBatch(database.db, campaign.id, mixed)).toEqual({ inserted: 2, deadLettered: 1 });
    expect(await bench.counts(campaign.id)).toEqual({
      coupons: 4,
      distinctCoupons: 4,
      maxPerUser: 1,
      issuedCount: 4,
      deadLetters: 1,
    });
    const [letter] = await listDeadLetters(database.db, { campaignId: campaign.id });
    expect(letter).toMatchObject({ claimId: taken.claim.claimId, userId: 'mix-a' });
  });

  it('dead-letters a poison entry after 5 deliveries while the other claims persist', async () => {
    const campaign = await bench.newCampaign({ totalQuantity: 100 });
    const keys = bench.redis.keys.campaign(campaign.id);
    const first = await Promise.all(Array.from({ length: 20 }, (_, i) => bench.claim(campaign.id, `p-${i}`)));
    // Well-formed fields, but a slot beyond the per-user limit of 1: PostgreSQL refuses the row every time.
    const poisonId = timeOrderedId();
    await bench.redis.client.xadd(
      keys.stream,
      '*',
      'c',
      poisonId,
      'u',
      'poison',
      's',
      '99',
      't',
      String(Date.now()),
      'k',
      campaign.id,
    );
    const second = await Promise.all(
      Array.from({ length: 20 }, (_, i) => bench.claim(campaign.id, `q-${i}`)),
    );
    const claimIds = [...first, ...second].map((a) => a.claimId!);

    await waitUntil(
      () => bench.counts(campaign.id),
      (c) => c.deadLetters === 1 && c.coupons === 40,
    );
    expect(await missingCoupons(database, claimIds)).toEqual([]);
    expect(await bench.redis.client.xlen(keys.stream)).toBe(0);
    const [letter] = await listDeadLetters(database.db, { campaignId: campaign.id });
    expect(letter).toMatchObject({ claimId: poisonId });
    // Never dead-lettered before its 5th delivery. With this test's short idle time, a loaded machine
    // can re-deliver the entry once more while its 5th delivery is being dead-lettered.
    expect(letter!.deliveries).toBeGreaterThanOrEqual(5);
    expect(letter!.error).toMatch(/^persist-failed: [\s\S]*per-user limit/);
    // The poison entry was never admitted by the gate: reconcile reports the campaign.
    const [row] = await reconcile(database.db, bench.redis, { campaignIds: [campaign.id], attempts: 1 });
    expect(row).toMatchObject({ gateIssued: 40, persisted: 40, pending: 0, deadLetters: 1, ok: false });
  });

  it('replays a dead letter with dead-letters retry: persisted once, the invariant holds', async () => {
    // No worker while the entry is dead-lettered by hand: one left running by an earlier test
    // (claimIdleMs 50) would take the entry over on a slow machine and persist it first.
    await bench.stopWorkers();
    const campaign = await bench.newCampaign({ totalQuantity: 10 });
    const keys = bench.redis.keys.campaign(campaign.id);
    const { claimId } = await bench.claim(campaign.id, 'unlucky');
    // Dead-letter it the way the worker does: record the letter, then acknowledge the entry.
    const reply = (await bench.redis.client.xreadgroup(
      'GROUP',
      WORKER_GROUP,
      'doomed',
      'COUNT',
      10,
      'STREAMS',
      keys.stream,
      '>',
    )) as [string, [string, string[]][]][];
    const [entryId, fields] = reply[0]![1][0]!;
    const item = { entryId, fields, claim: decodeStreamEntry(fields), deliveries: 5 };
    await insertDeadLetter(database.db, campaign.id, item, 'persist-failed', 'database was down', 1);
    await runScript(
      bench.redis.client,
      GATE_SCRIPTS.ackClaims,
      ackClaimsArgs(keys, [{ entryId, claimId: claimId! }]),
    );
    const [before] = await reconcile(database.db, bench.redis, { campaignIds: [campaign.id], attempts: 1 });
    expect(before).toMatchObject({ gateIssued: 1, persisted: 0, pending: 0, deadLetters: 1, ok: true });

    const letters = await listDeadLetters(database.db, { campaignId: campaign.id });
    const loader = new GateLoader(database.db, bench.redis, 5000);
    expect(await retryDeadLetters(database.db, bench.redis, loader, letters)).toEqual({
      requeued: [letters[0]!.id],
      skipped: [],
    });
    bench.startWorker();
    await waitForDrain(database.db, bench.redis, { timeoutMs: 20_000, campaignIds: [campaign.id] });
    expect(await missingCoupons(database, [claimId!])).toEqual([]);
    const [after] = await reconcile(database.db, bench.redis, { campaignIds: [campaign.id], attempts: 1 });
    expect(after).toMatchObject({ gateIssued: 1, persisted: 1, pending: 0, deadLetters: 0, ok: true });
  });

  it('finishes the batch in hand on stop(): the stopped worker holds no pending entry', async () => {
    await bench.stopWorkers();
    const campaign = await bench.newCampaign({ totalQuantity: 3000 });
    const keys = bench.redis.keys.campaign(campaign.id);
    await Promise.all(Array.from({ length: 3000 }, (_, i) => bench.claim(campaign.id, `s-${i}`)));
    const worker = bench.startWorker({ batchSize: 100 });
    await waitUntil(
      () => bench.counts(campaign.id),
      (c) => c.coupons >= 100,
    );
    await bench.stopWorkers();
    const pending = (await bench.redis.client.xpending(keys.stream, WORKER_GROUP)) as [number, ...unknown[]];
    expect(pending[0]).toBe(0);
    const counts = await bench.counts(campaign.id);
    expect(counts.coupons).toBe(worker.stats.persisted);
    expect(await bench.redis.client.xlen(keys.stream)).toBe(3000 - counts.coupons);
  });

  it('loses no admitted claim and duplicates none when a worker process is killed with -9 mid-stream', async () => {
    await bench.stopWorkers();
    const campaign = await bench.newCampaign({ totalQuantity: 4000 });
    const child = spawnWorker(database.url!, redisConfig.keyPrefix);
    try {
      const admitted: string[] = [];
      let next = 0;
      const wave = async (size: number) => {
        const results = await Promise.all(
          Array.from({ length: size }, () => bench.claim(campaign.id, `k-${next++}`)),
        );
        for (const r of results) if (r.claimId) admitted.push(r.claimId);
      };
      // Claims flow until the child has persisted some, then it dies mid-stream.
      await wave(500);
      await waitUntil(
        () => bench.counts(campaign.id),
        (c) => c.coupons >= 100,
        45_000,
      );
      const flowing = wave(1500);
      const before = await bench.counts(campaign.id);
      child.kill('SIGKILL');
      await flowing;
      // The child was still working: not everything it could see was persisted when it died.
      expect(before.coupons).toBeLessThan(2000);
      await wave(500);
      expect(admitted.length).toBe(2500);

      // A new worker takes over what the dead one held (idle > 200 ms) and what is left.
      bench.startWorker({ claimIdleMs: 200 });
      await waitForDrain(database.db, bench.redis, { timeoutMs: 45_000, campaignIds: [campaign.id] });
      const counts = await bench.counts(campaign.id);
      expect(counts).toEqual({
        coupons: 2500,
        distinctCoupons: 2500,
        maxPerUser: 1,
        issuedCount: 2500,
        deadLetters: 0,
      });
      expect(await missingCoupons(database, admitted)).toEqual([]);
      const [row] = await reconcile(database.db, bench.redis, { campaignIds: [campaign.id] });
      expect(row).toMatchObject({ gateIssued: 2500, persisted: 2500, pending: 0, deadLetters: 0, ok: true });
    } finally {
      child.kill('SIGKILL');
    }
  });
});

/** `stampede worker` in a child process on the test database and key prefix. */
function spawnWorker(databaseUrl: string, keyPrefix: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      REDIS_URL: testRedisConfig().url,
      REDIS_KEY_PREFIX: keyPrefix,
      WORKER_BATCH_SIZE: '50',
      WORKER_POLL_MS: '5',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
