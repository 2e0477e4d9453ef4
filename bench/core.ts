/**
 * Core benchmark (`npm run bench:core`): the HTTP claim path against PostgreSQL's own ceiling for
 * one hot row, in one run on one fresh database (created like test/support/database.ts does,
 * dropped at the end).
 *
 * 1. Once, as a diagnostic: pgbench runs Stampede's own db-atomic claim statement (captured from
 *    src/issuance/sql.ts, extended protocol as node-postgres uses) on a campaign of the same
 *    database: the gap between it and the HTTP rows is the cost of HTTP + Node, the gap between it
 *    and the plain UPDATE is the cost of the claim statement itself.
 * 2. --rounds rounds (default 3), each one in turn (this machine is shared and noisy, so every
 *    contender meets the same load; the order of the strategies rotates from round to round):
 *    - pgbench: `UPDATE bench_campaign SET issued = issued + 1 WHERE id = 1 AND issued < total`,
 *      one statement per transaction, 16 connections, 2 threads, default durable commits
 *      (synchronous_commit as the server has it), for --seconds. `total` is 2^31-1 so the update
 *      always writes: a sold-out row would make pgbench measure no-op commits;
 *    - `simulate` on PostgreSQL with each of --strategies (default db-atomic and db-batch): the
 *      in-process server gets the same 16 connections; every claim is admitted (one attempt per
 *      distinct user, stock = users), so each HTTP request is one coupon the database must commit
 *      durably — one commit per request for db-atomic, one per batch for db-batch. A short warm-up
 *      campaign runs first (JIT, sockets, pool), outside the measurement;
 *    - the same simulate on the embedded PGlite (in memory), for scale (--pglite-claims).
 *    Each row of the table is the median of its rounds (req/s, p50 and p99 each on its own).
 *
 * Output: a table (req/s, p50, p99, ratio to the median pgbench UPDATE) and
 * bench/results/core-<date>.json with every round. Options: --seconds N (pgbench window, default
 * 10), --concurrency N (HTTP requests in flight, default 64), --claims N (admitted claims per
 * PostgreSQL simulate run, default 12000), --pglite-claims N (default 3000), --rounds N,
 * --strategies a,b (database strategies), --skip-pglite.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { type SQL, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { startInProcessTarget } from '../src/app/simulation-target.js';
import { CampaignService } from '../src/campaigns/service.js';
import { loadConfig, type StrategyName } from '../src/config.js';
import { type Db, queryRows } from '../src/db/client.js';
import { issueAtomically } from '../src/issuance/sql.js';
import { latencySummary } from '../src/simulate/report.js';
import { simulate } from '../src/simulate/simulate.js';
import { campaignInput } from '../test/support/campaigns.js';
import { createTestDatabase } from '../test/support/database.js';

const run = promisify(execFile);

/** The strategies this bench can run: those needing only the database. */
const DB_STRATEGIES: StrategyName[] = ['db-atomic', 'db-lock', 'db-batch'];

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '64' },
    claims: { type: 'string', default: '12000' },
    'pglite-claims': { type: 'string', default: '3000' },
    rounds: { type: 'string', default: '3' },
    strategies: { type: 'string', default: 'db-atomic,db-batch' },
    'skip-pglite': { type: 'boolean', default: false },
  },
});
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const CLAIMS = Number(args.claims);
const PGLITE_CLAIMS = Number(args['pglite-claims']);
const ROUNDS = Number(args.rounds);
const STRATEGIES = args.strategies.split(',') as StrategyName[];
for (const strategy of STRATEGIES) {
  if (!DB_STRATEGIES.includes(strategy))
    throw new Error(`--strategies: ${strategy} is not a database strategy`);
}
/** pgbench clients and the in-process server's pool: the same number of PostgreSQL connections. */
const CONNECTIONS = 16;
const PGBENCH_THREADS = 2;
const WARM_UP_CLAIMS = 500;

interface Row {
  name: string;
  engine: 'postgres' | 'pglite';
  strategy: StrategyName | 'pgbench';
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  ratioToPgbench: number;
  ok: boolean;
  /** What went wrong when `ok` is false: the simulate report's violations and answers by status. */
  problem?: unknown;
}

const UPDATE_SQL = 'UPDATE bench_campaign SET issued = issued + 1 WHERE id = 1 AND issued < total;\n';

/**
 * Stampede's db-atomic claim statement as a pgbench script: the SQL that issueAtomically sends,
 * captured through a Db whose execute() only records the query, with pgbench variables in place
 * of the parameters (a random user per transaction, a fresh claim id from gen_random_uuid()).
 */
async function claimStatementScript(): Promise<string> {
  let captured: SQL | undefined;
  const recorder = {
    execute: async (query: SQL) => {
      captured = query;
      return { rows: [] };
    },
  } as unknown as Db;
  await issueAtomically(recorder, '@campaign', '@user', '@claim');
  const { sql: text, params } = new PgDialect().sqlToQuery(captured!);
  const variables: Record<string, string> = {
    '@campaign': ':cid',
    '@user': ':uid',
    '@claim': 'gen_random_uuid()',
  };
  const statement = text.replace(/\$(\d+)/g, (_, n: string) => {
    const value = params[Number(n) - 1];
    const variable = variables[String(value)];
    if (!variable) throw new Error(`unexpected parameter ${String(value)} in the claim statement`);
    return variable;
  });
  return `\\set uid random(1, 2000000000)\n${statement.replace(/\s+/g, ' ')};\n`;
}

/**
 * Runs a pgbench script for SECONDS and reads tps (without connection time) and latencies from
 * its per-transaction log.
 */
async function runPgbench(
  url: string,
  name: string,
  script: string,
  extraArgs: string[] = [],
): Promise<Omit<Row, 'ratioToPgbench'>> {
  const dir = mkdtempSync(join(tmpdir(), 'stampede-pgbench-'));
  try {
    const scriptFile = join(dir, 'script.sql');
    writeFileSync(scriptFile, script);
    const { stdout } = await run('pgbench', [
      '--no-vacuum',
      `--client=${CONNECTIONS}`,
      `--jobs=${PGBENCH_THREADS}`,
      `--time=${SECONDS}`,
      `--file=${scriptFile}`,
      '--log',
      `--log-prefix=${join(dir, 'tx')}`,
      ...extraArgs,
      url,
    ]);
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1]);
    const processed = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]);
    if (!Number.isFinite(tps) || !Number.isFinite(processed))
      throw new Error(`unexpected pgbench output:\n${stdout}`);
    // Log lines: client_id transaction_no latency_us script_no epoch_s epoch_us.
    const latencies: number[] = [];
    for (const file of readdirSync(dir).filter((name) => name.startsWith('tx'))) {
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
        const latencyUs = Number(line.split(' ')[2]);
        if (line && Number.isFinite(latencyUs)) latencies.push(latencyUs / 1000);
      }
    }
    const latency = latencySummary(Float64Array.from(latencies));
    return {
      name,
      engine: 'postgres',
      strategy: 'pgbench',
      requests: processed,
      seconds: processed / tps,
      perSecond: tps,
      p50Ms: latency.p50,
      p99Ms: latency.p99,
      ok: true,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One simulate run of `claims` admitted claims on a fresh campaign, after a warm-up campaign. */
async function runSimulate(
  strategy: StrategyName,
  databaseUrl: string | undefined,
  claims: number,
): Promise<Omit<Row, 'ratioToPgbench'>> {
  // Without load shedding, as bench/run.ts: on this shared machine the event-loop delay of a busy
  // moment would answer 503s that measure the neighbours, not the strategy.
  const base = loadConfig({});
  const config = {
    ...base,
    dbPoolSize: CONNECTIONS,
    logLevel: 'silent' as const,
    loadShedding: { ...base.loadShedding, maxEventLoopDelayMs: 0 },
  };
  const target = await startInProcessTarget({ config, strategy, databaseUrl });
  try {
    const scenario = (users: number, seed: number) => ({
      users,
      stock: users,
      attempts: 1,
      perUserLimit: 1,
      concurrency: CONCURRENCY,
      seed,
      redeemSample: 0,
    });
    await simulate(target, scenario(WARM_UP_CLAIMS, 1));
    const report = await simulate(target, scenario(claims, 2));
    const engine = target.engine === 'postgres' ? 'postgres' : 'pglite';
    return {
      name: `simulate ${strategy}, ${engine === 'postgres' ? 'PostgreSQL' : 'PGlite'}`,
      engine,
      strategy,
      requests: report.claims.requests,
      seconds: report.claims.durationMs / 1000,
      perSecond: report.claims.throughput,
      p50Ms: report.claims.latencyMs.p50,
      p99Ms: report.claims.latencyMs.p99,
      ok: report.ok && report.figures.issued === claims,
      ...(report.ok && report.figures.issued === claims
        ? {}
        : {
            problem: {
              violations: report.violations,
              byStatus: report.claims.byStatus,
              issued: report.figures.issued,
            },
          }),
    };
  } finally {
    await target.close();
  }
}

function printTable(rows: Row[]): void {
  const header = ['run', 'engine', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'vs pgbench', 'invariants'];
  const body = rows.map((r) => [
    r.name,
    r.engine,
    String(r.requests),
    r.perSecond.toFixed(0),
    r.p50Ms.toFixed(1),
    r.p99Ms.toFixed(1),
    `${(r.ratioToPgbench * 100).toFixed(0)}%`,
    r.ok ? 'ok' : 'BROKEN',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((line) => line[i]!.length)));
  const format = (line: string[]) =>
    line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of body) console.log(format(line));
}

/** The median of `values` (the mean of the middle two for an even count). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** One row per name: the median of its rounds (each figure on its own), in first-seen order. */
function medianRows(rounds: Omit<Row, 'ratioToPgbench'>[]): Omit<Row, 'ratioToPgbench'>[] {
  const names = [...new Set(rounds.map((r) => r.name))];
  return names.map((name) => {
    const runs = rounds.filter((r) => r.name === name);
    const of = (field: 'requests' | 'seconds' | 'perSecond' | 'p50Ms' | 'p99Ms') =>
      median(runs.map((r) => r[field]));
    return {
      ...runs[0]!,
      requests: of('requests'),
      seconds: of('seconds'),
      perSecond: of('perSecond'),
      p50Ms: of('p50Ms'),
      p99Ms: of('p99Ms'),
      ok: runs.every((r) => r.ok),
    };
  });
}

/** `list` rotated left by `by` places: each round starts with another strategy. */
const rotate = <T>(list: T[], by: number) => list.map((_, i) => list[(i + by) % list.length]!);

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = loadavg();
  const database = await createTestDatabase('postgres', { poolSize: 2 });
  const once: Omit<Row, 'ratioToPgbench'>[] = [];
  const rounds: (Omit<Row, 'ratioToPgbench'> & { round: number })[] = [];
  let server: Record<string, string>;
  try {
    const url = database.url!;
    const settings = await queryRows<{ name: string; setting: string }>(
      database.db,
      sql`SELECT name, setting FROM pg_settings
          WHERE name IN ('server_version', 'synchronous_commit', 'fsync', 'wal_sync_method', 'commit_delay')`,
    );
    server = Object.fromEntries(settings.map((s) => [s.name, s.setting]));
    await database.db.execute(
      sql`CREATE TABLE bench_campaign (id int PRIMARY KEY, issued int NOT NULL, total int NOT NULL)`,
    );
    await database.db.execute(sql`INSERT INTO bench_campaign VALUES (1, 0, 2147483647)`);
    const pgbenchArgs = `${CONNECTIONS} clients, ${PGBENCH_THREADS} threads, ${SECONDS} s`;
    const campaign = await new CampaignService(database.db).create(
      campaignInput({
        name: 'bench: pgbench claim statement',
        totalQuantity: 100_000_000,
        couponValidity: { seconds: 86_400 },
        discount: { type: 'fixed', amount: 1000 },
      }),
    );
    console.error(`pgbench db-atomic claim statement: ${pgbenchArgs} ...`);
    once.push(
      await runPgbench(url, 'pgbench claim statement', await claimStatementScript(), [
        '--protocol=extended',
        `--define=cid=${campaign.id}`,
      ]),
    );
    for (let round = 1; round <= ROUNDS; round++) {
      console.error(`round ${round}/${ROUNDS}: pgbench conditional UPDATE: ${pgbenchArgs} ...`);
      rounds.push({ ...(await runPgbench(url, 'pgbench UPDATE', UPDATE_SQL)), round });
      for (const strategy of rotate(STRATEGIES, round - 1)) {
        console.error(
          `round ${round}/${ROUNDS}: simulate ${strategy} on PostgreSQL: ${CLAIMS} admitted claims ...`,
        );
        rounds.push({ ...(await runSimulate(strategy, url, CLAIMS)), round });
      }
      if (!args['skip-pglite']) {
        for (const strategy of rotate(STRATEGIES, round - 1)) {
          console.error(
            `round ${round}/${ROUNDS}: simulate ${strategy} on PGlite: ${PGLITE_CLAIMS} admitted claims ...`,
          );
          rounds.push({ ...(await runSimulate(strategy, undefined, PGLITE_CLAIMS)), round });
        }
      }
    }
  } finally {
    await database.close();
  }

  const medians = medianRows(rounds);
  const baseline = medians.find((r) => r.name === 'pgbench UPDATE')!.perSecond;
  const ratio = (r: Omit<Row, 'ratioToPgbench'>): Row => ({ ...r, ratioToPgbench: r.perSecond / baseline });
  const table: Row[] = [...medians, ...once].map(ratio);
  console.log();
  printTable(table);
  const rate = (name: string) => table.find((r) => r.name === name)?.perSecond;
  const comparisons = (['PostgreSQL', 'PGlite'] as const).flatMap((engine) => {
    const batch = rate(`simulate db-batch, ${engine}`);
    const atomic = rate(`simulate db-atomic, ${engine}`);
    return batch && atomic ? [{ engine, batchOverAtomic: batch / atomic }] : [];
  });
  for (const { engine, batchOverAtomic } of comparisons)
    console.log(`db-batch over db-atomic on ${engine}: x${batchOverAtomic.toFixed(2)} (medians)`);
  const best = Math.max(
    ...table.filter((r) => r.engine === 'postgres' && r.strategy !== 'pgbench').map((r) => r.ratioToPgbench),
  );
  console.log(
    `\nHTTP claim path on PostgreSQL: best ${best.toFixed(2)} x pgbench's single-row UPDATE (target >= 3.0): ${best >= 3 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  const results = {
    startedAt: startedAt.toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      loadBefore,
      loadAfter: loadavg(),
      node: process.version,
    },
    postgres: server,
    method: {
      rounds: `${ROUNDS} rounds in turns (pgbench UPDATE, then each strategy on PostgreSQL, then on PGlite; strategy order rotated per round); each table row is the median of its rounds`,
      pgbench: `${UPDATE_SQL.trim()} -- ${CONNECTIONS} clients, ${PGBENCH_THREADS} threads, ${SECONDS} s, total = 2^31-1 (never sold out)`,
      pgbenchClaimStatement:
        "src/issuance/sql.ts issueAtomically's statement, extended protocol, random user per transaction (once)",
      simulate: `in-process server, pool ${CONNECTIONS}, ${CONCURRENCY} HTTP requests in flight, attempts 1, stock = users (every claim admitted), ${CLAIMS} claims on PostgreSQL and ${PGLITE_CLAIMS} on PGlite, warm-up of ${WARM_UP_CLAIMS} claims first`,
    },
    baselinePerSecond: baseline,
    rows: table,
    comparisons,
    rounds,
    targetMet: best >= 3,
  };
  const dir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `core-${startedAt.toISOString().slice(0, 19).replace(/:/g, '')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results: ${file}`);
  if (table.some((r) => !r.ok)) process.exitCode = 1;
}

await main();
