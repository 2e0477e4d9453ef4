/**
 * `npm run bench:gate`: the redis-gate benchmarks of issue 3, short and bounded.
 *
 * (a) HTTP: autocannon against 127.0.0.1, side by side in one run — a Fastify route doing no
 *     work, then `POST /v1/campaigns/{id}/claims` of the real app with ISSUANCE_STRATEGY=redis-gate
 *     (a service token claiming for a different user per request; the in-process worker off).
 *     The servers run in a child process so autocannon does not share their event loop.
 *     Target: redis-gate >= 75% of the empty route.
 * (b) Worker drain: BENCH_CLAIMS claims admitted through the gate script, then timed from the
 *     worker's start until PostgreSQL holds all of them, with the CPU time per claim of the
 *     worker, the PostgreSQL backends and Redis. Target: >= 100,000 claims/s.
 *
 * Environment: BENCH_DURATION_S (HTTP seconds per target, default 10), BENCH_CONNECTIONS (100),
 * BENCH_CLAIMS (200000), BENCH_WORKER_CONCURRENCY (4), BENCH_PARTS (`http,drain`), BENCH_CPU_PROF
 * (a directory: CPU-profile the HTTP servers), TEST_DATABASE_URL / TEST_REDIS_URL as in the tests. A fresh database and key prefix are used and dropped afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import { CampaignService } from '../src/campaigns/service.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/client.js';
import { timeOrderedId } from '../src/db/ids.js';
import { runMigrations } from '../src/db/migrate.js';
import { buildApp } from '../src/http/app.js';
import { openRedis } from '../src/redis/connection.js';
import { admitClaimArgs, runScript } from '../src/redis/scripts.js';
import { waitForDrain } from '../src/worker/drain.js';
import { StreamWorker } from '../src/worker/worker.js';
import { cpuSnapshot, cpuSpentByName } from './cpu.js';

const env = process.env;
const DURATION_S = Number(env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 100);
const CLAIMS = Number(env.BENCH_CLAIMS ?? 200_000);
const WORKER_CONCURRENCY = Number(env.BENCH_WORKER_CONCURRENCY ?? 4);
const DATABASE_URL = env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const JWT_SECRET = 'bench-secret-bench-secret-bench-secret-0123';

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

function urlOf(name: string): string {
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withCampaign(databaseUrl: string, totalQuantity: number): Promise<string> {
  const database = await openDatabase({ url: databaseUrl, poolSize: 2 });
  try {
    const campaign = await new CampaignService(database.db).create({
      name: 'bench',
      status: 'active',
      totalQuantity,
      perUserLimit: 1,
      startsAt: null,
      endsAt: null,
      couponValidity: { seconds: 86_400 },
      discount: { type: 'fixed', amount: 500 },
      minOrderAmount: null,
    });
    return campaign.id;
  } finally {
    await database.close();
  }
}

/** Child process: serves the empty route and the app, prints their ports as one JSON line. */
async function serve(): Promise<void> {
  const config = { ...loadConfig(), jwtSecret: JWT_SECRET };
  const database = await openDatabase({ url: config.databaseUrl, poolSize: 10 });
  const app = await buildApp({ config, database });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const empty = Fastify();
  empty.post('/empty', async (_request, reply) => reply.code(202).send({}));
  await empty.listen({ host: '127.0.0.1', port: 0 });
  const port = (server: typeof app.server) => (server.address() as { port: number }).port;
  const token = app.tokens.sign({ sub: randomUUID(), role: 'service' });
  console.log(JSON.stringify({ app: port(app.server), empty: port(empty.server), token }));
  process.once('SIGTERM', async () => {
    await app.close();
    await empty.close();
    await database.close();
    process.exit(0);
  });
}

async function http(databaseUrl: string, prefix: string) {
  const campaignId = await withCampaign(databaseUrl, 2_000_000_000);
  const profile = env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', env.BENCH_CPU_PROF] : [];
  const child: ChildProcess = spawn(
    process.execPath,
    [...profile, '--import', 'tsx', 'bench/gate.ts', '--serve'],
    {
      env: {
        ...env,
        DATABASE_URL: databaseUrl,
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
    const ports = JSON.parse(line.toString()) as { app: number; empty: number; token: string };
    let n = 0;
    const run = async (title: string, url: string) => {
      const result = await autocannon({
        title,
        url,
        method: 'POST',
        connections: CONNECTIONS,
        duration: DURATION_S,
        headers: { authorization: `Bearer ${ports.token}`, 'content-type': 'application/json' },
        // A different user per request: per-user limit 1 never rejects.
        requests: [{ setupRequest: (request) => ({ ...request, body: `{"userId":"u${n++}"}` }) }],
      });
      const ok = result['2xx'];
      return {
        title,
        requestsPerSecond: Math.round(ok / DURATION_S),
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors,
      };
    };
    const empty = await run('fastify empty route', `http://127.0.0.1:${ports.empty}/empty`);
    const gate = await run(
      'redis-gate claim',
      `http://127.0.0.1:${ports.app}/v1/campaigns/${campaignId}/claims`,
    );
    return { empty, gate, ratio: gate.requestsPerSecond / empty.requestsPerSecond };
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

async function drain(databaseUrl: string, prefix: string) {
  const campaignId = await withCampaign(databaseUrl, CLAIMS);
  const database = await openDatabase({ url: databaseUrl, poolSize: WORKER_CONCURRENCY + 2 });
  const config = loadConfig({});
  const redis = openRedis({ ...config.redis, url: REDIS_URL, keyPrefix: prefix }, 'bench');
  try {
    // Load the gate (first claim), then admit the rest through the gate script, pipelined.
    const { RedisGateStrategy } = await import('../src/issuance/strategies/redis-gate.js');
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
            'admitClaim',
            admitClaimArgs(keys, { campaignId, userId: `u${j}`, claimId: timeOrderedId() }),
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
  const client = redis.client as import('ioredis').Redis;
  try {
    let cursor = '0';
    do {
      const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (found.length > 0) await client.unlink(...found);
    } while (cursor !== '0');
  } finally {
    await redis.close();
  }
}

async function main(): Promise<void> {
  const name = `stampede_bench_${randomBytes(4).toString('hex')}`;
  const prefix = `bench:${randomBytes(4).toString('hex')}:`;
  await admin(`CREATE DATABASE ${name}`);
  const databaseUrl = urlOf(name);
  try {
    const database = await openDatabase({ url: databaseUrl, poolSize: 1 });
    await runMigrations(database);
    await database.close();
    const parts = (env.BENCH_PARTS ?? 'http,drain').split(',');
    if (parts.includes('http')) {
      const httpResult = await http(databaseUrl, prefix);
      console.table([httpResult.empty, httpResult.gate]);
      console.log(
        `redis-gate / empty route = ${(httpResult.ratio * 100).toFixed(1)}% (target >= 75%), ${DURATION_S}s each, ${CONNECTIONS} connections`,
      );
    }
    if (parts.includes('drain')) {
      const drainResult = await drain(databaseUrl, `${prefix}drain:`);
      console.table([drainResult]);
      console.log(`worker drain = ${drainResult.claimsPerSecond} claims/s (target >= 100000)`);
    }
  } finally {
    await dropKeys(prefix);
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

if (process.argv.includes('--serve')) await serve();
else await main();
