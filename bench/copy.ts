/**
 * `npm run bench:copy`: would the stream worker's drain gain from COPY? Its batch write today
 * (src/gate/persist.ts `persistBatch`) is ONE statement: a multi-row INSERT from unnest() arrays
 * plus the `issued_count` UPDATE, in one round trip. The COPY candidate writes the same rows with
 * `COPY coupons (…) FROM STDIN` (pg-copy-streams) and the same UPDATE, which COPY cannot carry,
 * so it needs an explicit transaction: BEGIN, COPY, UPDATE, COMMIT (COPY has no ON CONFLICT
 * either: a re-delivered batch would fail and fall back to the INSERT form).
 *
 * Both write batches of the worker's size (WORKER_BATCH_SIZE, 500 by default) of fresh claims of
 * one campaign each, alternating batch by batch on a scratch PostgreSQL database (so the rest of
 * the machine's load hits both alike), each on one pooled connection. Figures per method: median
 * and p90 ms per batch, rows/s over all its batches, and the CPU ms per 1,000 rows of the
 * PostgreSQL backends and of this process (from /proc; steadier than time on a shared machine).
 *
 * Environment: BENCH_BATCHES (per method, default 60), BENCH_BATCH_SIZE (500),
 * BENCH_DATABASE_URL (an admin URL; default postgres://postgres@127.0.0.1:5432/postgres).
 * Writes bench/results/copy-<date>.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { CampaignService } from '../src/campaigns/service.js';
import { openDatabase } from '../src/db/client.js';
import { timeOrderedId } from '../src/db/ids.js';
import { runMigrations } from '../src/db/migrate.js';
import { persistBatch, type WorkItem } from '../src/gate/persist.js';
import { campaignInput } from '../test/support/campaigns.js';
import { adminQuery, databaseUrl } from '../test/support/database.js';
import { cpuSnapshot, cpuSpentByName } from './cpu.js';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 60);
const BATCH_SIZE = Number(process.env.BENCH_BATCH_SIZE ?? 500);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A batch of fresh, well-formed work items of `campaignId` (distinct users, slot 1). */
function freshBatch(campaignId: string, tag: string, index: number): WorkItem[] {
  const admittedMs = Date.now();
  return Array.from({ length: BATCH_SIZE }, (_, i) => ({
    entryId: `${admittedMs}-${i}`,
    fields: [],
    deliveries: 1,
    claim: { claimId: timeOrderedId(), userId: `${tag}-${index}-${i}`, userSlot: 1, admittedMs, campaignId },
  }));
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))]!;

async function main(): Promise<void> {
  const started = new Date();
  const startLoad = loadavg()[0]!;
  const databaseName = `stampede_bench_copy_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${databaseName}`, ADMIN_URL);
  const database = await openDatabase({ url: databaseUrl(databaseName, ADMIN_URL), poolSize: 2 });
  try {
    await runMigrations(database);
    const campaigns = new CampaignService(database.db);
    const create = (name: string) =>
      campaigns.create(
        campaignInput({ name, totalQuantity: 100_000_000, couponValidity: { seconds: 86_400 } }),
      );
    const insertCampaign = await create('bench insert');
    const copyCampaign = await create('bench copy');
    const validityMs = 86_400 * 1000;
    const client = await database.pool!.connect();

    /** The COPY candidate: the same rows and counter, in one explicit transaction. */
    const copyBatch = async (items: WorkItem[]) => {
      const lines = items.map(({ claim }) => {
        const issuedAt = new Date(claim!.admittedMs);
        const expiresAt = new Date(claim!.admittedMs + validityMs);
        // COPY text format; these user ids need no escaping (a real switch would escape \, tab, newline).
        return `${claim!.claimId}\t${copyCampaign.id}\t${claim!.userId}\t${claim!.userSlot}\tissued\t${issuedAt.toISOString()}\t${expiresAt.toISOString()}\n`;
      });
      await client.query('BEGIN');
      try {
        await pipeline(
          Readable.from([lines.join('')]),
          client.query(
            copyFrom(
              'COPY coupons (id, campaign_id, user_id, user_slot, status, issued_at, expires_at) FROM STDIN',
            ),
          ),
        );
        await client.query('UPDATE campaigns SET issued_count = issued_count + $1 WHERE id = $2', [
          items.length,
          copyCampaign.id,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    };

    const methods = [
      {
        name: `multi-row INSERT (persistBatch), ${BATCH_SIZE} rows/batch`,
        write: async (index: number) => {
          const result = await persistBatch(
            database.db,
            insertCampaign.id,
            freshBatch(insertCampaign.id, 'i', index),
          );
          if (result.inserted !== BATCH_SIZE) throw new Error(`inserted ${result.inserted}`);
        },
        ms: [] as number[],
        postgresCpuMs: 0,
        nodeCpuMs: 0,
      },
      {
        name: `COPY FROM STDIN + UPDATE in a transaction, ${BATCH_SIZE} rows/batch`,
        write: (index: number) => copyBatch(freshBatch(copyCampaign.id, 'c', index)),
        ms: [] as number[],
        postgresCpuMs: 0,
        nodeCpuMs: 0,
      },
    ];
    // Warm-up: plans, caches, the connection.
    for (const method of methods) for (let i = 0; i < 3; i++) await method.write(-1 - i);
    for (let index = 0; index < BATCHES; index++) {
      for (const method of methods) {
        const before = cpuSnapshot();
        const nodeBefore = process.cpuUsage();
        const t0 = performance.now();
        await method.write(index);
        method.ms.push(performance.now() - t0);
        const nodeUsed = process.cpuUsage(nodeBefore);
        method.nodeCpuMs += (nodeUsed.user + nodeUsed.system) / 1000;
        method.postgresCpuMs += cpuSpentByName(before, cpuSnapshot(), 'postgres');
      }
    }
    client.release();

    const rows = methods.map((method) => {
      const totalMs = method.ms.reduce((sum, ms) => sum + ms, 0);
      const thousands = (BATCHES * BATCH_SIZE) / 1000;
      return {
        name: method.name,
        batches: BATCHES,
        medianMsPerBatch: +percentile(method.ms, 50).toFixed(2),
        p90MsPerBatch: +percentile(method.ms, 90).toFixed(2),
        rowsPerSecond: Math.round((BATCHES * BATCH_SIZE) / (totalMs / 1000)),
        postgresCpuMsPer1000Rows: +(method.postgresCpuMs / thousands).toFixed(1),
        nodeCpuMsPer1000Rows: +(method.nodeCpuMs / thousands).toFixed(1),
      };
    });
    console.table(rows);
    const [insert, copy] = rows;
    const summary = {
      copyOverInsertThroughput: +(copy!.rowsPerSecond / insert!.rowsPerSecond).toFixed(2),
      loadAverage: { start: +startLoad.toFixed(2), end: +loadavg()[0]!.toFixed(2) },
    };
    console.log(`COPY / INSERT throughput: ×${summary.copyOverInsertThroughput}`);
    mkdirSync(new URL('results/', import.meta.url), { recursive: true });
    const file = new URL(`results/copy-${started.toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
    writeFileSync(
      file,
      `${JSON.stringify({ startedAt: started.toISOString(), batchSize: BATCH_SIZE, rows, summary }, null, 2)}\n`,
    );
    console.log(`written to ${file.pathname}`);
  } finally {
    await database.close();
    await adminQuery(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`, ADMIN_URL);
  }
}

await main();
