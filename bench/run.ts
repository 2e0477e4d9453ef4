/**
 * `npm run bench`: measures, side by side on this machine and in one run, what the claim path
 * costs compared with the physical limit of a Node HTTP server.
 *
 * Every server under test is a separate process (the real `stampede serve` CLI on a scratch
 * PostgreSQL database), loaded by autocannon from this process over 127.0.0.1 for a bounded
 * time. Rows:
 * - `baseline`: Fastify answering `GET /noop` (bench/noop-server.ts): the ceiling;
 * - `claim <strategy>`: `POST /v1/campaigns/{id}/claims` with an admin token and a distinct
 *   `userId` per request (a repeated user would only get `already-claimed`), on a campaign whose
 *   stock cannot run out during the run;
 * - `claim db-batch` (group commit: one statement and commit per batch of claims);
 * - `claim redis-lock`, `claim redis-gate` (admission, 202; the in-process worker off);
 * - `gate script direct`: admitClaims.lua called from this process with one claim per call, 1,000 calls in flight
 *   (ioredis auto-pipelining): the ceiling of admission on this Redis;
 * - `worker drain`: the stream worker persisting everything the previous row admitted;
 * - `claim db-atomic, metrics+logs off`: METRICS_ENABLED=false LOG_LEVEL=silent, to price them;
 * - `claim db-atomic, --workers 2`: node:cluster with two processes, to price one more core;
 *   these two and `claim db-atomic` are measured in turns so the machine's load hits them alike.
 * - `flash <strategy>` (`--only flash` runs only these): the flash-sale mix, below, with the
 *   claim rate limit on as deployed;
 * - `simulate <strategy> (PostgreSQL)` and `(embedded)` (`--only simulate`): `stampede simulate` per
 *   strategy, its claim phase's throughput and latency p50/p99 side by side.
 * Servers run without load shedding and, but for the flash rows, without the claim rate limit
 * (both would distort throughput, the latter by a Redis round trip only the Redis rows would pay).
 * Figures: requests/s, latency p50 and p99 (ms), ratio to the baseline, CPU time of the server
 * processes per request (ms; read from /proc, it prices metrics and logging even when the claim
 * path is bound by PostgreSQL rather than by Node) and the count of non-2xx answers (a row with
 * many is not measuring the happy path). Printed as a table and
 * written to bench/results/<ISO date>.json with the machine's description.
 *
 * Options: --duration <s> per row (default 5), --warmup <s> (default 1), --connections <n>
 * (default 32); for the flash rows --claim-rate-limit, --strategies, --rounds and --before (see
 * their constants below). Environment: BENCH_DATABASE_URL, an admin URL of the PostgreSQL server
 * (default postgres://postgres@127.0.0.1:5432/postgres) on which a scratch database is created
 * and dropped; BENCH_REDIS_URL (default redis://127.0.0.1:6379), under a scratch key prefix
 * deleted afterwards; BENCH_PORT, the first of the ports used (default 7320).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { parseArgs, promisify } from 'node:util';
import autocannon from 'autocannon';
import { CampaignService } from '../src/campaigns/service.js';
import { loadConfig, STRATEGIES, type StrategyName } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { timeOrderedId } from '../src/db/ids.js';
import { waitForDrain } from '../src/gate/drain.js';
import { admitClaimsArgs, GATE_SCRIPTS } from '../src/gate/scripts.js';
import { RedisGateStrategy } from '../src/gate/strategy.js';
import { StreamWorker } from '../src/gate/worker.js';
import { RedisBreaker } from '../src/redis/breaker.js';
import { openRedis } from '../src/redis/connection.js';
import { runScript } from '../src/redis/scripts.js';
import type { SimulationReport } from '../src/simulate/report.js';
import { campaignInput } from '../test/support/campaigns.js';
import { adminQuery, databaseUrl } from '../test/support/database.js';
import { dropPrefix } from '../test/support/redis.js';
import { treeCpuMs } from './cpu.js';

const ROOT = new URL('..', import.meta.url).pathname;
const JWT_SECRET = randomBytes(32).toString('hex');
const ADMIN_EMAIL = 'bench@stampede.invalid';
const ADMIN_PASSWORD = randomBytes(16).toString('hex');

const { values: options } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string' },
    before: { type: 'string' },
    'claim-rate-limit': { type: 'string' },
    strategies: { type: 'string', default: 'db-batch,db-atomic,redis-gate' },
    rounds: { type: 'string', default: '3' },
  },
});
/** `--only flash`: just the flash-sale mix rows; `--only simulate`: just the `stampede simulate` rows. */
const ONLY = options.only;
/**
 * `--before <dir>`: a checkout of another commit (with its node_modules) whose `stampede serve`
 * the flash-sale mix also measures, in the same turns, as rows named `… (before)`: a fair
 * before/after on a shared machine. Made with `git archive <commit> | tar -x -C <dir>`, then
 * symlinks to this checkout's `node_modules` and `console/dist`, so that both serve the same app
 * (without a built console, /console is not registered).
 */
const BEFORE_DIR = options.before;
/**
 * `--claim-rate-limit <max>[,<max>…]`: CLAIM_RATE_LIMIT_MAX of the flash-sale rows (several:
 * rows for each, measured in the same turns); by default the configuration's default (a
 * deployment's flash sale runs with it). The other rows run without.
 */
const FLASH_RATE_LIMITS = (options['claim-rate-limit'] ?? String(loadConfig({}).claimRateLimit.max)).split(
  ',',
);
/** `--strategies a,b`: the strategies of the flash-sale rows; `--rounds n`: its rounds (3). */
const FLASH_STRATEGIES = options.strategies.split(',') as StrategyName[];
const FLASH_ROUNDS = Number(options.rounds);
const DURATION_S = Number(options.duration);
const WARMUP_S = Number(options.warmup);
const CONNECTIONS = Number(options.connections);
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Every Redis key of the run lives under this prefix, deleted at the end. */
const REDIS_PREFIX = `bench:${randomBytes(4).toString('hex')}:`;
let nextPort = Number(process.env.BENCH_PORT ?? 7320);
const execFileAsync = promisify(execFile);
const START_LOAD = loadavg()[0]!;

interface Row {
  name: string;
  requestsPerSecond: number;
  /** CPU time the server's processes spent per request, ms: what metrics and logging cost, unlike req/s, hardly depends on the rest of the machine's load. */
  cpuMsPerRequest?: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  ratioToBaseline?: number;
  /** Rows measured in turns: req/s and CPU ms/req of each round, and the median round's ratio to the baseline. */
  rounds?: { requestsPerSecond: number[]; cpuMsPerRequest: number[]; medianRatioToBaseline?: number };
  /** `simulate` rows: the invariants that broke (none when it is absent). */
  violations?: string[];
}

/**
 * An access token of the run's admin (created by `serve` from STAMPEDE_ADMIN_EMAIL/PASSWORD): tokens
 * must name a real user, so the bench signs in as an operator would.
 */
async function adminToken(url: string): Promise<string> {
  const response = await fetch(`${url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
  });
  if (!response.ok) throw new Error(`bench admin login: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

/** A server process under test; its logs go to /dev/null so that writing them is part of the cost. */
interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startProcess(
  args: string[],
  env: Record<string, string>,
  readyPath: string,
  cwd = ROOT,
): Promise<Server> {
  const port = nextPort++;
  const devNull = openSync('/dev/null', 'w');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', devNull, 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited at start: ${stderr}`);
    try {
      if ((await fetch(`${url}${readyPath}`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not answer ${readyPath} within 60 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs autocannon for `seconds` against one request shape; `body` builds each request's body. */
async function load(
  url: string,
  seconds: number,
  request: { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: () => string },
): Promise<autocannon.Result> {
  const { body } = request;
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: request.method,
        path: request.path,
        headers: request.headers ?? {},
        ...(body ? { setupRequest: (req: autocannon.Request) => ({ ...req, body: body() }) } : {}),
      },
    ],
  });
}

type LoadRequest = Parameters<typeof load>[2];

/** One slice of load on a server: what autocannon saw and the CPU the server used meanwhile. */
interface Slice {
  result: autocannon.Result;
  cpuMs: number;
}

async function slice(server: Server, request: LoadRequest, seconds: number): Promise<Slice> {
  const cpuBefore = treeCpuMs(server.pid);
  const result = await load(server.url, seconds, request);
  return { result, cpuMs: treeCpuMs(server.pid) - cpuBefore };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** A row from one or more slices: throughput and CPU over all of them, latency as the median slice's. */
function rowOf(name: string, slices: Slice[]): Row {
  const requests = slices.reduce((sum, s) => sum + s.result.requests.total, 0);
  const seconds = slices.reduce((sum, s) => sum + s.result.duration, 0);
  const cpu = slices.reduce((sum, s) => sum + s.cpuMs, 0);
  const row: Row = {
    name,
    requestsPerSecond: Math.round(requests / seconds),
    cpuMsPerRequest: +(cpu / Math.max(1, requests)).toFixed(3),
    p50Ms: median(slices.map((s) => s.result.latency.p50)),
    p99Ms: median(slices.map((s) => s.result.latency.p99)),
    requests,
    non2xx: slices.reduce((sum, s) => sum + s.result.non2xx, 0),
    errors: slices.reduce((sum, s) => sum + s.result.errors + s.result.timeouts, 0),
  };
  if (slices.length > 1) {
    row.rounds = {
      requestsPerSecond: slices.map((s) => Math.round(s.result.requests.total / s.result.duration)),
      cpuMsPerRequest: slices.map((s) => +(s.cpuMs / Math.max(1, s.result.requests.total)).toFixed(3)),
    };
  }
  console.error(
    `  ${name}: ${row.requestsPerSecond} req/s, p99 ${row.p99Ms} ms, ${row.cpuMsPerRequest} CPU ms/req, non-2xx ${row.non2xx}`,
  );
  return row;
}

async function measure(name: string, server: Server, request: LoadRequest): Promise<Row> {
  if (WARMUP_S > 0) await load(server.url, WARMUP_S, request);
  return rowOf(name, [await slice(server, request, DURATION_S)]);
}

/**
 * Measures several servers in turns (A B A B …, `rounds` each, DURATION_S split between them), so
 * that a change in the rest of the machine's load hits all of them alike: for on/off comparisons.
 */
async function measureInTurns(
  targets: { name: string; server: Server; request: LoadRequest }[],
  rounds: number,
) {
  for (const target of targets) if (WARMUP_S > 0) await load(target.server.url, WARMUP_S, target.request);
  const slices = targets.map(() => [] as Slice[]);
  const seconds = Math.max(1, Math.round(DURATION_S / rounds));
  for (let round = 0; round < rounds; round++) {
    for (const [i, target] of targets.entries())
      slices[i]!.push(await slice(target.server, target.request, seconds));
  }
  return targets.map((target, i) => rowOf(target.name, slices[i]!));
}

interface ClaimTarget {
  name: string;
  server: Server;
  request: LoadRequest;
}

/**
 * Starts `stampede serve` (of the checkout `cwd`) with `env` and `args` and creates a campaign
 * with `stock` (by default one that cannot run out).
 */
async function startClaimTarget(
  name: string,
  url: string,
  env: Record<string, string>,
  args: string[] = [],
  stock = 100_000_000,
  cwd = ROOT,
): Promise<ClaimTarget> {
  const server = await startProcess(
    ['src/main.ts', 'serve', '--workers', '1', ...args],
    // No load shedding: a 503 would end a request early and flatter the throughput.
    {
      DATABASE_URL: url,
      JWT_SECRET,
      STAMPEDE_ADMIN_EMAIL: ADMIN_EMAIL,
      STAMPEDE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      LOG_LEVEL: 'info',
      DB_POOL_SIZE: '10',
      LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: '0',
      // The rate limit would cost the Redis rows a round trip the database rows do not pay.
      CLAIM_RATE_LIMIT_MAX: '0',
      ...env,
    },
    '/healthz',
    cwd,
  );
  try {
    const token = await adminToken(server.url);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = await fetch(`${server.url}/v1/campaigns`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        name: `bench ${name}`,
        status: 'active',
        totalQuantity: stock,
        perUserLimit: 1,
        discount: { type: 'fixed', amount: 100 },
      }),
    });
    if (created.status !== 201) throw new Error(`campaign creation failed: ${await created.text()}`);
    const campaign = (await created.json()) as { id: string };
    const prefix = randomBytes(4).toString('hex');
    let user = 0;
    return {
      name,
      server,
      request: {
        method: 'POST',
        path: `/v1/campaigns/${campaign.id}/claims`,
        headers,
        body: () => `{"userId":"u-${prefix}-${user++}"}`,
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** Measures claims on one server started by {@link startClaimTarget}, then stops it. */
async function measureClaims(name: string, url: string, env: Record<string, string>, args: string[] = []) {
  const target = await startClaimTarget(name, url, env, args);
  try {
    return await measure(name, target.server, target.request);
  } finally {
    await target.server.stop();
  }
}

/** Calls of the gate script kept in flight at once (ioredis pipelines them automatically). */
const GATE_BATCH = 1000;

/**
 * The gate script called directly from this process, pipelined (no HTTP, no app): the ceiling
 * of redis-gate admission on this Redis. Then the stream worker draining every claim admitted
 * meanwhile into PostgreSQL: claims persisted per second.
 */
async function measureGateAndDrain(url: string): Promise<Row[]> {
  const database = await openDatabase({ url, poolSize: 6 });
  const config = loadConfig({});
  const redis = openRedis({ ...config.redis, url: REDIS_URL, keyPrefix: `${REDIS_PREFIX}direct:` }, 'bench');
  try {
    const campaign = await new CampaignService(database.db).create(
      campaignInput({
        name: 'bench gate',
        totalQuantity: 100_000_000,
        discount: { type: 'fixed', amount: 100 },
      }),
    );
    // The first claim loads the gate from PostgreSQL, as the API would.
    const strategy = new RedisGateStrategy(
      database.db,
      redis,
      new RedisBreaker({ failures: 5, halfOpenMs: 1000 }),
      {
        loadWaitMs: 5000,
      },
    );
    await strategy.claim({ campaignId: campaign.id, userId: 'first', claimId: timeOrderedId() });
    const keys = redis.keys.campaign(campaign.id);
    const admit = (user: number) => {
      const started = performance.now();
      return runScript(
        redis.client,
        GATE_SCRIPTS.admitClaims,
        admitClaimsArgs(keys, campaign.id, [{ userId: `g${user}`, claimId: timeOrderedId() }]).keysAndArgs,
      ).then(() => performance.now() - started);
    };
    let user = 0;
    const latencies: number[] = [];
    const started = performance.now();
    const until = started + DURATION_S * 1000;
    while (performance.now() < until) {
      const batch = Array.from({ length: GATE_BATCH }, () => admit(user++));
      latencies.push(...(await Promise.all(batch)));
    }
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((x, y) => x - y);
    const percentile = (p: number) => +latencies[Math.floor((latencies.length - 1) * p)]!.toFixed(2);
    const gate: Row = {
      name: `gate script direct (pipelined, ${GATE_BATCH} in flight)`,
      requestsPerSecond: Math.round(latencies.length / seconds),
      p50Ms: percentile(0.5),
      p99Ms: percentile(0.99),
      requests: latencies.length,
      non2xx: 0,
      errors: 0,
    };
    console.error(`  ${gate.name}: ${gate.requestsPerSecond} calls/s, p99 ${gate.p99Ms} ms`);

    const queued = await redis.client.xlen(keys.stream);
    const worker = new StreamWorker({ db: database.db, redis, config: config.worker, concurrency: 4 });
    const drainStart = performance.now();
    worker.start();
    try {
      await waitForDrain(database.db, redis, { timeoutMs: 180_000, pollMs: 20, campaignIds: [campaign.id] });
    } finally {
      await worker.stop();
    }
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const drain: Row = {
      name: `worker drain (${queued} claims, batch ${config.worker.batchSize})`,
      requestsPerSecond: Math.round(queued / drainSeconds),
      p50Ms: 0,
      p99Ms: 0,
      requests: queued,
      non2xx: 0,
      errors: 0,
    };
    console.error(`  ${drain.name}: ${drain.requestsPerSecond} claims/s`);
    return [gate, drain];
  } finally {
    await redis.close();
    await database.close();
  }
}

/** Deletes every key of the run (single node: SCAN + UNLINK). */
async function dropRedisKeys(): Promise<void> {
  const redis = openRedis({ ...loadConfig({}).redis, url: REDIS_URL, keyPrefix: REDIS_PREFIX }, 'bench');
  try {
    await dropPrefix(redis);
  } finally {
    await redis.close();
  }
}

function printTable(rows: Row[]): void {
  const header = ['measurement', 'req/s', 'p50 ms', 'p99 ms', 'ratio', 'CPU ms/req', 'non-2xx'];
  const lines = rows.map((row) => [
    row.name,
    String(row.requestsPerSecond),
    row.p99Ms === 0 ? '' : String(row.p50Ms),
    row.p99Ms === 0 ? '' : String(row.p99Ms),
    row.ratioToBaseline === undefined ? '' : row.ratioToBaseline.toFixed(3),
    row.cpuMsPerRequest === undefined ? '' : row.cpuMsPerRequest.toFixed(3),
    String(row.non2xx + row.errors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(format(header));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const line of lines) console.log(format(line));
}

/** Stock of the flash-sale rows: sold out within the first second, so most answers are sold-out. */
const FLASH_STOCK = 500;

/**
 * The flash-sale mix: claims of distinct users on a campaign whose stock is gone almost at once,
 * so nearly every answer is `sold-out` — what a flash sale looks like after its first second. Each
 * strategy against a Fastify POST route doing nothing, all measured in turns (`--rounds`); the
 * ratio to that route says how close refusing a late claim comes to not working at all. The
 * claim rate limit is on (`--claim-rate-limit`); with `--before`, each strategy also from that
 * checkout.
 */
async function measureFlashMix(url: string): Promise<Row[]> {
  const noop = await startProcess(['bench/noop-server.ts', String(nextPort)], {}, '/noop');
  const redisEnv = { REDIS_URL, REDIS_KEY_PREFIX: REDIS_PREFIX };
  const targets: ClaimTarget[] = [
    {
      name: 'flash baseline: Fastify POST, no work',
      server: noop,
      request: {
        method: 'POST',
        path: '/noop',
        headers: { 'content-type': 'application/json' },
        body: () => '{"userId":"u-0"}',
      },
    },
  ];
  const trees: [string, string][] = [['', ROOT]];
  if (BEFORE_DIR) trees.push([' (before)', BEFORE_DIR]);
  try {
    for (const strategy of FLASH_STRATEGIES) {
      const env = strategy.startsWith('redis-') ? { ...redisEnv, WORKER_IN_PROCESS: 'true' } : {};
      for (const limit of FLASH_RATE_LIMITS) {
        const limitName = FLASH_RATE_LIMITS.length > 1 ? `, rate limit ${limit === '0' ? 'off' : limit}` : '';
        for (const [suffix, cwd] of trees) {
          targets.push(
            await startClaimTarget(
              `flash ${strategy}${limitName}${suffix}`,
              url,
              { ISSUANCE_STRATEGY: strategy, CLAIM_RATE_LIMIT_MAX: limit, ...env },
              [],
              FLASH_STOCK,
              cwd,
            ),
          );
        }
      }
    }
    const rows = await measureInTurns(targets, FLASH_ROUNDS);
    const baseline = rows[0]!.requestsPerSecond;
    // Per round, each target's req/s over the baseline's in the same round; the median of those.
    const baselineRounds = rows[0]!.rounds?.requestsPerSecond ?? [];
    for (const row of rows) {
      row.ratioToBaseline = row.requestsPerSecond / baseline;
      if (row.rounds) {
        row.rounds.medianRatioToBaseline = +median(
          row.rounds.requestsPerSecond.map((rps, i) => rps / baselineRounds[i]!),
        ).toFixed(3);
        console.error(
          `  ${row.name}: rounds ${row.rounds.requestsPerSecond.join(', ')} req/s, CPU ms/req ${row.rounds.cpuMsPerRequest.join(', ')}; median round ratio ${row.rounds.medianRatioToBaseline}`,
        );
      }
    }
    return rows;
  } finally {
    for (const target of targets) await target.server.stop();
  }
}

/**
 * `stampede simulate` (its defaults: a flash sale of 10,000 users over 1,000 coupons, several
 * attempts each, then redemptions) with each strategy on this run's PostgreSQL database (the
 * Redis strategies on this run's Redis prefix), one after the other: the claim phase's
 * throughput and latency p50/p99 as the simulator measured them, and whether every invariant
 * held. The server runs in a worker thread of the simulating process, as `simulate` does; the
 * claim rate limit is at its default, as deployed. Rows `simulate <strategy> (PostgreSQL)`, then
 * `simulate db-batch (embedded)` and `simulate db-atomic (embedded)` on a fresh in-memory PGlite.
 */
async function measureSimulate(url: string): Promise<Row[]> {
  const rows: Row[] = [];
  const runs: [engine: string, strategy: StrategyName][] = [
    ...STRATEGIES.map((strategy): [string, StrategyName] => ['PostgreSQL', strategy]),
    // The embedded default (no DATABASE_URL: a fresh in-memory PGlite), as a new user runs it.
    ['embedded', 'db-batch'],
    ['embedded', 'db-atomic'],
  ];
  for (const [engine, strategy] of runs) {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      ...(engine === 'PostgreSQL' ? { DATABASE_URL: url } : {}),
      LOG_LEVEL: 'silent',
      ...(strategy.startsWith('redis-') ? { REDIS_URL, REDIS_KEY_PREFIX: `${REDIS_PREFIX}simulate:` } : {}),
    };
    const { stdout } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', 'simulate', '--json', '--strategy', strategy],
      { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 },
    ).catch((error: { stdout?: string; stderr?: string }) => {
      // Exit code 1 = an invariant broke: the report is still on stdout, and says which.
      if (error.stdout) return { stdout: error.stdout };
      throw new Error(`simulate --strategy ${strategy} failed: ${error.stderr}`);
    });
    const report = JSON.parse(stdout) as SimulationReport;
    const claims = report.claims;
    const answered2xx = Object.entries(claims.byStatus)
      .filter(([status]) => status.startsWith('2'))
      .reduce((sum, [, count]) => sum + count, 0);
    rows.push({
      name: `simulate ${strategy} (${engine})${report.ok ? '' : ' INVARIANT BROKEN'}`,
      requestsPerSecond: Math.round(claims.throughput),
      p50Ms: +claims.latencyMs.p50.toFixed(1),
      p99Ms: +claims.latencyMs.p99.toFixed(1),
      requests: claims.requests,
      non2xx: claims.requests - answered2xx,
      errors: claims.byStatus['0'] ?? 0,
      ...(report.ok ? {} : { violations: report.violations.map((v) => `${v.invariant}: ${v.detail}`) }),
    });
    if (!report.ok) console.error(`simulate ${strategy}: ${JSON.stringify(report.violations)}`);
  }
  return rows;
}

async function main(): Promise<void> {
  const started = new Date();
  const databaseName = `stampede_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${databaseName}`, ADMIN_URL);
  const url = databaseUrl(databaseName, ADMIN_URL);
  const rows: Row[] = [];
  try {
    console.error(`bench: ${DURATION_S} s per row after ${WARMUP_S} s warm-up, ${CONNECTIONS} connections`);
    if (ONLY === 'flash') {
      const flash = await measureFlashMix(url);
      printTable(flash);
      writeResults(started, 'flash', flash);
      return;
    }
    if (ONLY === 'simulate') {
      const simulated = await measureSimulate(url);
      printTable(simulated);
      writeResults(started, 'simulate', simulated);
      return;
    }
    const noop = await startProcess(['bench/noop-server.ts', String(nextPort)], {}, '/noop');
    try {
      rows.push(await measure('baseline: Fastify, no work', noop, { method: 'GET', path: '/noop' }));
    } finally {
      await noop.stop();
    }
    rows.push(await measureClaims('claim db-lock', url, { ISSUANCE_STRATEGY: 'db-lock' }));
    rows.push(await measureClaims('claim db-batch', url, { ISSUANCE_STRATEGY: 'db-batch' }));
    const redisEnv = { REDIS_URL, REDIS_KEY_PREFIX: REDIS_PREFIX };
    rows.push(await measureClaims('claim redis-lock', url, { ...redisEnv, ISSUANCE_STRATEGY: 'redis-lock' }));
    // Admission only (202): the worker is measured on its own below.
    // Admission only (202): the worker is measured on its own below. The gate path is bound by
    // Node rather than PostgreSQL, so it prices metrics+logs best: on and off, in turns.
    const gateEnv = { ...redisEnv, ISSUANCE_STRATEGY: 'redis-gate', WORKER_IN_PROCESS: 'false' };
    const gateTargets: ClaimTarget[] = [];
    try {
      gateTargets.push(await startClaimTarget('claim redis-gate (202, worker apart)', url, gateEnv));
      gateTargets.push(
        await startClaimTarget('claim redis-gate, metrics+logs off', url, {
          ...gateEnv,
          METRICS_ENABLED: 'false',
          LOG_LEVEL: 'silent',
        }),
      );
      rows.push(...(await measureInTurns(gateTargets, 2)));
    } finally {
      for (const target of gateTargets) await target.server.stop();
    }
    rows.push(...(await measureGateAndDrain(url)));
    rows.push(...(await measureFlashMix(url)));
    rows.push(...(await measureSimulate(url)));
    // db-atomic with and without metrics+logs, and with two workers, measured in turns.
    const targets: ClaimTarget[] = [];
    try {
      targets.push(await startClaimTarget('claim db-atomic', url, { ISSUANCE_STRATEGY: 'db-atomic' }));
      targets.push(
        await startClaimTarget('claim db-atomic, metrics+logs off', url, {
          ISSUANCE_STRATEGY: 'db-atomic',
          METRICS_ENABLED: 'false',
          LOG_LEVEL: 'silent',
        }),
      );
      targets.push(
        await startClaimTarget('claim db-atomic, --workers 2', url, { ISSUANCE_STRATEGY: 'db-atomic' }, [
          '--workers',
          '2',
        ]),
      );
      rows.push(...(await measureInTurns(targets, 3)));
    } finally {
      for (const target of targets) await target.server.stop();
    }
  } finally {
    await dropRedisKeys();
    await adminQuery(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`, ADMIN_URL);
  }

  const baseline = rows[0]!.requestsPerSecond;
  // The flash rows carry their own ratio (to the POST route measured in turns with them).
  for (const row of rows) row.ratioToBaseline ??= row.requestsPerSecond / baseline;
  const byName = (name: string) => rows.find((row) => row.name === name)!;
  const cost = (on: Row, off: Row) => ({
    throughput: 1 - on.requestsPerSecond / off.requestsPerSecond,
    cpuPerClaim: on.cpuMsPerRequest! / off.cpuMsPerRequest! - 1,
  });
  const dbAtomic = byName('claim db-atomic');
  const summary = {
    metricsAndLogging: {
      dbAtomic: cost(dbAtomic, byName('claim db-atomic, metrics+logs off')),
      redisGate: cost(
        byName('claim redis-gate (202, worker apart)'),
        byName('claim redis-gate, metrics+logs off'),
      ),
    },
    workers2Gain: byName('claim db-atomic, --workers 2').requestsPerSecond / dbAtomic.requestsPerSecond,
  };
  console.log('');
  printTable(rows);
  console.log('');
  const percent = (x: number) => `${(x * 100).toFixed(1)}%`;
  for (const [path, c] of Object.entries(summary.metricsAndLogging)) {
    console.log(
      `metrics+logging on the ${path} claim path: ${percent(c.throughput)} of throughput, ` +
        `${percent(c.cpuPerClaim)} more CPU per claim (target <= 10%)`,
    );
  }
  console.log(`--workers 2 over one process (db-atomic): x${summary.workers2Gain.toFixed(2)} throughput`);

  writeResults(started, '', rows, summary);
}

/** Writes `rows` (and `summary`) with the machine's description to bench/results/<label><date>.json. */
function writeResults(started: Date, label: string, rows: Row[], summary?: unknown): void {
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    freeMemoryGiB: +(freemem() / 2 ** 30).toFixed(1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
  mkdirSync(new URL('results/', import.meta.url), { recursive: true });
  const name = `${label ? `${label}-` : ''}${started.toISOString().replace(/[:.]/g, '-')}`;
  const file = new URL(`results/${name}.json`, import.meta.url);
  const settings = {
    durationSeconds: DURATION_S,
    warmupSeconds: WARMUP_S,
    connections: CONNECTIONS,
    flash: { claimRateLimitMax: FLASH_RATE_LIMITS.map(Number), rounds: FLASH_ROUNDS },
    ...(BEFORE_DIR ? { before: BEFORE_DIR } : {}),
    // 1-minute load average when the run started and when it ended (the machine is shared).
    loadAverage: { start: +START_LOAD.toFixed(2), end: +loadavg()[0]!.toFixed(2) },
  };
  writeFileSync(
    file,
    `${JSON.stringify({ startedAt: started.toISOString(), machine, settings, rows, summary }, null, 2)}\n`,
  );
  console.log(`\nwritten to ${file.pathname}`);
}

await main();
