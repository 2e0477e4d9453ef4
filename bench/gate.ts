/**
 * `npm run bench:gate`: the redis-gate benchmarks of issue 3, short and bounded.
 *
 * (a) HTTP, side by side in one run, against 127.0.0.1: a Fastify route doing no work; then
 *     `POST /v1/campaigns/{id}/claims` of the real app with ISSUANCE_STRATEGY=redis-gate and its
 *     defaults (metrics, cache, load shedding, the Redis-backed claim rate limit); then the same
 *     app with the claim rate limit off (CLAIM_RATE_LIMIT_MAX=0). A service token claims for a
 *     different user per request; the in-process worker is off and logging silent (bench/run.ts
 *     prices logging). The load client is wrk -t1 (issue 3 measured that way; Debian package
 *     `wrk`), or autocannon when wrk is not installed. The servers run in a child process.
 *     Targets are measured in turns for BENCH_ROUNDS rounds; the table gives medians, with the
 *     CPU time per request of the server process and of Redis (steadier than req/s on a busy
 *     machine) and every round's req/s. Target: redis-gate >= 75% of the empty route.
 * (b) Worker drain: BENCH_CLAIMS claims admitted through the gate script, then timed from the
 *     worker's start until PostgreSQL holds all of them, with the CPU time per claim of the
 *     worker, the PostgreSQL backends and Redis. Target: >= 100,000 claims/s.
 *
 * Environment: BENCH_DURATION_S (HTTP seconds per target and round, default 10),
 * BENCH_CONNECTIONS (100), BENCH_ROUNDS (3), BENCH_CLIENT (`wrk` or `autocannon`), BENCH_CLAIMS
 * (200000), BENCH_WORKER_CONCURRENCY (4), BENCH_PARTS (`http,drain`), BENCH_CPU_PROF (a
 * directory: CPU-profile the HTTP servers), TEST_DATABASE_URL / TEST_REDIS_URL as in the tests.
 * A fresh database and key prefix are used and dropped afterwards.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { buildApp } from '../src/app/build-app.js';
import { insertUser } from '../src/auth/users.js';
import { CampaignService } from '../src/campaigns/service.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { timeOrderedId } from '../src/db/ids.js';
import { runMigrations } from '../src/db/migrate.js';
import { waitForDrain } from '../src/gate/drain.js';
import { admitClaimsArgs, GATE_SCRIPTS } from '../src/gate/scripts.js';
import { StreamWorker } from '../src/gate/worker.js';
import { openRedis } from '../src/redis/connection.js';
import { runScript } from '../src/redis/scripts.js';
import { campaignInput } from '../test/support/campaigns.js';
import { adminQuery, databaseUrl } from '../test/support/database.js';
import { dropPrefix } from '../test/support/redis.js';
import { cpuSnapshot, cpuSpentByName, treeCpuMs } from './cpu.js';

const env = process.env;
const DURATION_S = Number(env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 100);
const CLAIMS = Number(env.BENCH_CLAIMS ?? 200_000);
const WORKER_CONCURRENCY = Number(env.BENCH_WORKER_CONCURRENCY ?? 4);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);
/** The HTTP load client: wrk when installed (issue 3 measured with `wrk -t1 -c100`), else autocannon. */
const CLIENT = env.BENCH_CLIENT ?? (hasWrk() ? 'wrk' : 'autocannon');
const execFileAsync = promisify(execFile);
const REDIS_URL = env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const JWT_SECRET = 'bench-secret-bench-secret-bench-secret-0123';

async function withCampaign(url: string, totalQuantity: number): Promise<string> {
  const database = await openDatabase({ url, poolSize: 2 });
  try {
    const campaign = await new CampaignService(database.db).create(
      campaignInput({ name: 'bench', totalQuantity, couponValidity: { seconds: 86_400 } }),
    );
    return campaign.id;
  } finally {
    await database.close();
  }
}

/**
 * Child process: serves the empty route, the app with its defaults, and the app with the claim
 * rate limit off; prints their ports and a service token as one JSON line.
 */
async function serve(): Promise<void> {
  const config = { ...loadConfig(), jwtSecret: JWT_SECRET };
  const database = await openDatabase({ url: config.databaseUrl, poolSize: 10 });
  const app = await buildApp({ config, database });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const noLimit = await buildApp({
    config: { ...config, claimRateLimit: { ...config.claimRateLimit, max: 0 } },
    database,
  });
  await noLimit.listen({ host: '127.0.0.1', port: 0 });
  const empty = Fastify();
  empty.post('/empty', async (_request, reply) => reply.code(202).send({}));
  await empty.listen({ host: '127.0.0.1', port: 0 });
  const port = (server: typeof app.server) => (server.address() as { port: number }).port;
  // Tokens must name a real user (src/auth/principals.ts).
  const service = await insertUser(database.db, {
    email: `bench-${randomUUID()}@stampede.invalid`,
    role: 'service',
    passwordHash: 'not a password hash: this account cannot sign in',
  });
  const token = app.tokens.sign({ sub: service!.id, role: 'service', ver: service!.tokenVersion });
  const ports = { app: port(app.server), noLimit: port(noLimit.server), empty: port(empty.server) };
  console.log(JSON.stringify({ ...ports, token }));
  process.once('SIGTERM', async () => {
    await app.close();
    await noLimit.close();
    await empty.close();
    await database.close();
    process.exit(0);
  });
}

interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

/** True when wrk (Debian package `wrk`) is on the PATH. */
function hasWrk(): boolean {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    // wrk --version exits 1 after printing its version.
    return (error as { status?: number }).status === 1;
  }
}

/** Milliseconds of a wrk latency figure such as `1.25ms`, `830.00us` or `1.02s`. */
function wrkMs(text: string): number {
  const [, value, unit] = /([\d.]+)(us|ms|s)/.exec(text) ?? [];
  const factor = unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1;
  return Number((Number(value) * factor).toFixed(2));
}

/** POSTs a distinct userId per request to `url` for DURATION_S with wrk -t1 (as issue 3 measured), else autocannon. */
async function load(url: string, token: string, runId: string): Promise<LoadResult> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  if (CLIENT === 'wrk') {
    const { stdout } = await execFileAsync('wrk', [
      '-t1',
      `-c${CONNECTIONS}`,
      `-d${DURATION_S}s`,
      '--latency',
      '-s',
      'bench/wrk/claims.lua',
      ...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]),
      url,
      '--',
      runId,
    ]);
    const total = Number(/(\d+) requests in/.exec(stdout)?.[1]);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
    const errors = [...stdout.matchAll(/(connect|read|write|timeout) (\d+)/g)].reduce(
      (sum, m) => sum + Number(m[2]),
      0,
    );
    return {
      requestsPerSecond: Math.round((total - non2xx) / DURATION_S),
      p50Ms: wrkMs(/^\s+50%\s+(\S+)/m.exec(stdout)?.[1] ?? ''),
      p99Ms: wrkMs(/^\s+99%\s+(\S+)/m.exec(stdout)?.[1] ?? ''),
      non2xx,
      errors,
    };
  }
  let n = 0;
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers,
    requests: [{ setupRequest: (request) => ({ ...request, body: `{"userId":"${runId}${n++}"}` }) }],
  });
  return {
    requestsPerSecond: Math.round(result['2xx'] / DURATION_S),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function http(url: string, prefix: string) {
  const campaignId = await withCampaign(url, 2_000_000_000);
  const profile = env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', env.BENCH_CPU_PROF] : [];
  const child: ChildProcess = spawn(
    process.execPath,
    [...profile, '--import', 'tsx', 'bench/gate.ts', '--serve'],
    {
      env: {
        ...env,
        DATABASE_URL: url,
        JWT_SECRET,
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        ISSUANCE_STRATEGY: 'redis-gate',
        WORKER_IN_PROCESS: 'false',
        LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    const ports = JSON.parse(line.toString()) as {
      app: number;
      noLimit: number;
      empty: number;
      token: string;
    };
    const claims = (p: number) => `http://127.0.0.1:${p}/v1/campaigns/${campaignId}/claims`;
    const targets = [
      { title: 'fastify empty route', url: `http://127.0.0.1:${ports.empty}/empty` },
      { title: 'redis-gate claim', url: claims(ports.app) },
      { title: 'redis-gate claim, rate limit off', url: claims(ports.noLimit) },
    ];
    const runs = new Map<string, (LoadResult & { serverCpuUs: number; redisCpuUs: number })[]>();
    // Rounds in turn, so the machine's load changes hit every target alike; medians reported.
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of targets) {
        const before = cpuSnapshot();
        const result = await load(target.url, ports.token, `r${round}-${randomBytes(3).toString('hex')}-`);
        const after = cpuSnapshot();
        const requests = Math.max(1, (result.requestsPerSecond + result.non2xx / DURATION_S) * DURATION_S);
        const perRequest = (ms: number) => Number(((ms * 1000) / requests).toFixed(1));
        runs.set(target.title, [
          ...(runs.get(target.title) ?? []),
          {
            ...result,
            serverCpuUs: perRequest(treeCpuMs(child.pid!, after) - treeCpuMs(child.pid!, before)),
            redisCpuUs: perRequest(cpuSpentByName(before, after, 'redis-server')),
          },
        ]);
      }
    }
    const rows = targets.map(({ title }) => {
      const rs = runs.get(title)!;
      const pick = (key: keyof (typeof rs)[number]) => median(rs.map((r) => r[key]));
      return {
        title,
        requestsPerSecond: pick('requestsPerSecond'),
        p50Ms: pick('p50Ms'),
        p99Ms: pick('p99Ms'),
        serverCpuUs: pick('serverCpuUs'),
        redisCpuUs: pick('redisCpuUs'),
        non2xx: rs.reduce((sum, r) => sum + r.non2xx, 0),
        errors: rs.reduce((sum, r) => sum + r.errors, 0),
        rounds: rs.map((r) => r.requestsPerSecond).join(' '),
      };
    });
    return {
      rows,
      ratio: rows[1]!.requestsPerSecond / rows[0]!.requestsPerSecond,
      ratioNoLimit: rows[2]!.requestsPerSecond / rows[0]!.requestsPerSecond,
    };
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

async function drain(url: string, prefix: string) {
  const campaignId = await withCampaign(url, CLAIMS);
  const database = await openDatabase({ url, poolSize: WORKER_CONCURRENCY + 2 });
  const config = loadConfig({});
  const redis = openRedis({ ...config.redis, url: REDIS_URL, keyPrefix: prefix }, 'bench');
  try {
    // Load the gate (first claim), then admit the rest through the gate script, pipelined.
    const { RedisGateStrategy } = await import('../src/gate/strategy.js');
    const { RedisBreaker } = await import('../src/redis/breaker.js');
    const strategy = new RedisGateStrategy(
      database.db,
      redis,
      new RedisBreaker({ failures: 5, halfOpenMs: 1000 }),
      {
        loadWaitMs: 5000,
      },
    );
    await strategy.claim({ campaignId, userId: 'u0', claimId: timeOrderedId() });
    const keys = redis.keys.campaign(campaignId);
    const admitStart = performance.now();
    for (let i = 1; i < CLAIMS; i += 5000) {
      const calls = [];
      for (let j = i; j < Math.min(i + 5000, CLAIMS); j++) {
        calls.push(
          runScript(
            redis.client,
            GATE_SCRIPTS.admitClaims,
            admitClaimsArgs(keys, campaignId, [{ userId: `u${j}`, claimId: timeOrderedId() }]).keysAndArgs,
          ),
        );
      }
      await Promise.all(calls);
    }
    const admitSeconds = (performance.now() - admitStart) / 1000;
    const streamLength = await redis.client.xlen(keys.stream);

    const worker = new StreamWorker({
      db: database.db,
      redis,
      config: config.worker,
      concurrency: WORKER_CONCURRENCY,
    });
    const cpuBefore = cpuSnapshot();
    const ownCpuBefore = process.cpuUsage();
    const start = performance.now();
    worker.start();
    await waitForDrain(database.db, redis, { timeoutMs: 600_000, pollMs: 20, campaignIds: [campaignId] });
    const seconds = (performance.now() - start) / 1000;
    const ownCpu = process.cpuUsage(ownCpuBefore);
    const cpuAfter = cpuSnapshot();
    await worker.stop();
    /** CPU µs per claim drained. */
    const perClaim = (ms: number) => Number(((ms * 1000) / streamLength).toFixed(1));
    return {
      claims: streamLength,
      gateScriptPerSecond: Math.round(CLAIMS / admitSeconds),
      drainSeconds: Number(seconds.toFixed(2)),
      claimsPerSecond: Math.round(streamLength / seconds),
      batchSize: config.worker.batchSize,
      concurrency: WORKER_CONCURRENCY,
      // Where the drain's CPU goes (µs per claim): the worker (this process, Node), the
      // PostgreSQL backends, Redis. Steadier than claims/s on a busy machine.
      workerCpuUs: perClaim((ownCpu.user + ownCpu.system) / 1000),
      postgresCpuUs: perClaim(cpuSpentByName(cpuBefore, cpuAfter, 'postgres')),
      redisCpuUs: perClaim(cpuSpentByName(cpuBefore, cpuAfter, 'redis-server')),
    };
  } finally {
    await redis.close();
    await database.close();
  }
}

/** Deletes the benchmark's keys (everything under `prefix`). */
async function dropKeys(prefix: string): Promise<void> {
  const redis = openRedis({ ...loadConfig({}).redis, url: REDIS_URL, keyPrefix: prefix }, 'bench');
  try {
    await dropPrefix(redis);
  } finally {
    await redis.close();
  }
}

async function main(): Promise<void> {
  const name = `stampede_bench_${randomBytes(4).toString('hex')}`;
  const prefix = `bench:${randomBytes(4).toString('hex')}:`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = databaseUrl(name);
  try {
    const database = await openDatabase({ url, poolSize: 1 });
    await runMigrations(database);
    await database.close();
    const parts = (env.BENCH_PARTS ?? 'http,drain').split(',');
    const startedAt = new Date();
    const results: Record<string, unknown> = {
      startedAt: startedAt.toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model,
        loadBefore: loadavg(),
        node: process.version,
      },
      method: { client: CLIENT, connections: CONNECTIONS, rounds: ROUNDS, secondsPerRound: DURATION_S },
    };
    if (parts.includes('http')) {
      const httpResult = await http(url, prefix);
      results.http = httpResult;
      console.table(httpResult.rows);
      console.log(
        `redis-gate / empty route = ${(httpResult.ratio * 100).toFixed(1)}% with the defaults, ` +
          `${(httpResult.ratioNoLimit * 100).toFixed(1)}% with the claim rate limit off (target >= 75%); ` +
          `${CLIENT}, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION_S}s, medians`,
      );
    }
    if (parts.includes('drain')) {
      const drainResult = await drain(url, `${prefix}drain:`);
      results.drain = drainResult;
      console.table([drainResult]);
      console.log(`worker drain = ${drainResult.claimsPerSecond} claims/s (target >= 100000)`);
    }
    results.loadAfter = loadavg();
    const dir = new URL('./results/', import.meta.url).pathname;
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `gate-${startedAt.toISOString().slice(0, 19).replace(/:/g, '')}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`results: ${file}`);
  } finally {
    await dropKeys(prefix);
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

if (process.argv.includes('--serve')) await serve();
else await main();
