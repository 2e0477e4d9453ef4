/**
 * Webhook benchmark (`npm run bench:webhooks`): a flash sale on PostgreSQL with and without an
 * endpoint subscribed to `coupon.issued`, in one run on one fresh database (dropped at the end).
 *
 * Each round (--rounds, default 3) runs both variants in turn (their order rotates; the machine is
 * shared and noisy, so both meet the same load):
 * - `no endpoint`: the claim statements read the empty endpoints table and write no outbox row;
 * - `written`: one endpoint subscribed to `coupon.issued` (a local receiver answering 204): every
 *   admitted claim writes an event and a delivery in its own statement; the dispatcher starts
 *   only after the sale, so this prices the outbox writes alone, and then the drain of the
 *   backlog with nothing else running;
 * - `subscribed`: the same with the dispatcher in the server's process from the start (as
 *   `serve` runs one, WEBHOOK_CONCURRENCY 16), delivering while the sale goes on.
 * A sale is `simulate` with --claims distinct users, stock = users (every claim admitted, each
 * one a coupon.issued), --concurrency HTTP requests in flight, strategy --strategy (db-batch, the
 * default one), after a warm-up sale. Figures: claims/s and p99 of each variant (median of the
 * rounds) and their ratio to `no endpoint` of the same round (median of the rounds); delivery
 * throughput: for `subscribed`, events delivered per second from the sale's first request until
 * the receiver has them all, and how long after the sale's end the last one arrived; for
 * `written`, the backlog's drain rate once the dispatcher starts.
 *
 * Output: a table and bench/results/webhooks-<date>.json with every round.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { startInProcessTarget } from '../src/app/simulation-target.js';
import { loadConfig, type StrategyName } from '../src/config.js';
import { openDatabase, queryRows } from '../src/db/client.js';
import { simulate } from '../src/simulate/simulate.js';
import { WebhookDispatcher } from '../src/webhooks/dispatcher.js';
import { newSecret } from '../src/webhooks/signing.js';
import { createTestDatabase } from '../test/support/database.js';

const { values: args } = parseArgs({
  options: {
    claims: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '3' },
    strategy: { type: 'string', default: 'db-batch' },
  },
});
const CLAIMS = Number(args.claims);
const CONCURRENCY = Number(args.concurrency);
const ROUNDS = Number(args.rounds);
const STRATEGY = args.strategy as StrategyName;
const WARM_UP_CLAIMS = 1000;
const POOL = 16;

type Variant = 'no endpoint' | 'written' | 'subscribed';
const VARIANTS: Variant[] = ['no endpoint', 'written', 'subscribed'];

interface Round {
  variant: Variant;
  round: number;
  claimsPerSecond: number;
  p99Ms: number;
  issued: number;
  /** Claims/s of this round over the `no endpoint` one of the same round. */
  ratioToNone?: number;
  /** coupon.issued deliveries received (not for `no endpoint`). */
  delivered?: number;
  /** subscribed: delivered / s from the sale's start to the last delivery; written: from the dispatcher's start. */
  deliveriesPerSecond?: number;
  /** subscribed: seconds from the sale's end to the last delivery. */
  drainSeconds?: number;
}

/** A receiver answering 204 to every request, counting them. */
async function startReceiver() {
  let count = 0;
  let lastAt = 0;
  let waiter: { until: number; resolve: () => void } | undefined;
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      count++;
      lastAt = performance.now();
      response.statusCode = 204;
      response.end();
      if (waiter && count >= waiter.until) waiter.resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    reset: () => {
      count = 0;
    },
    get count() {
      return count;
    },
    get lastAt() {
      return lastAt;
    },
    waitFor: (until: number) =>
      count >= until ? Promise.resolve() : new Promise<void>((resolve) => (waiter = { until, resolve })),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function sale(
  databaseUrl: string,
  variant: Variant,
  round: number,
  receiver: Awaited<ReturnType<typeof startReceiver>>,
): Promise<Round> {
  const base = loadConfig({});
  const config = {
    ...base,
    dbPoolSize: POOL,
    logLevel: 'silent' as const,
    loadShedding: { ...base.loadShedding, maxEventLoopDelayMs: 0 },
    claimRateLimit: { max: 0, windowMs: 10_000 },
  };
  const admin = await openDatabase({ url: databaseUrl, poolSize: 2 });
  await queryRows(admin.db, sql`DELETE FROM webhook_endpoints`);
  await queryRows(admin.db, sql`DELETE FROM webhook_events`);
  if (variant !== 'no endpoint') {
    await queryRows(
      admin.db,
      sql`INSERT INTO webhook_endpoints (url, events, secret) VALUES (${receiver.url}, ARRAY['coupon.issued'], ${newSecret()})`,
    );
  }
  const target = await startInProcessTarget({ config, strategy: STRATEGY, databaseUrl });
  // The dispatcher of `serve`, in the server's process, with its own small pool.
  const dispatcherDb = await openDatabase({ url: databaseUrl, poolSize: 4 });
  const dispatcherOptions = {
    db: dispatcherDb.db,
    ...base.webhooks,
    allowPrivateUrls: true,
    logger: { warn: (object: object, message: string) => console.warn(message, object) },
  };
  const dispatcher = new WebhookDispatcher(dispatcherOptions);
  let drainer: WebhookDispatcher | undefined;
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
    dispatcher.start();
    await simulate(target, scenario(WARM_UP_CLAIMS, 1));
    if (variant !== 'no endpoint') await receiver.waitFor(WARM_UP_CLAIMS);
    receiver.reset();
    if (variant === 'written') await dispatcher.stop();
    const startedAt = performance.now();
    const report = await simulate(target, scenario(CLAIMS, 2 + round));
    const endedAt = performance.now();
    const result: Round = {
      variant,
      round,
      claimsPerSecond: report.claims.throughput,
      p99Ms: report.claims.latencyMs.p99,
      issued: report.figures.issued,
    };
    if (variant === 'written') {
      const drainStart = performance.now();
      drainer = new WebhookDispatcher(dispatcherOptions);
      drainer.start();
      await receiver.waitFor(report.figures.issued);
      result.delivered = receiver.count;
      result.deliveriesPerSecond = receiver.count / ((receiver.lastAt - drainStart) / 1000);
    }
    if (variant === 'subscribed') {
      await receiver.waitFor(report.figures.issued);
      result.delivered = receiver.count;
      result.deliveriesPerSecond = receiver.count / ((receiver.lastAt - startedAt) / 1000);
      result.drainSeconds = Math.max(0, (receiver.lastAt - endedAt) / 1000);
    }
    return result;
  } finally {
    if (variant !== 'written') await dispatcher.stop();
    await drainer?.stop();
    await dispatcherDb.close();
    await target.close();
    await admin.close();
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  const startedAt = new Date();
  const database = await createTestDatabase('postgres');
  const receiver = await startReceiver();
  const rounds: Round[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
      const results = [];
      for (const variant of order) results.push(await sale(database.url!, variant, round, receiver));
      const none = results.find((r) => r.variant === 'no endpoint')!;
      for (const result of results) {
        result.ratioToNone = result.claimsPerSecond / none.claimsPerSecond;
        console.log(JSON.stringify(result));
        rounds.push(result);
      }
    }
  } finally {
    await receiver.close();
    await database.close();
  }
  const of = (variant: Variant) => rounds.filter((r) => r.variant === variant);
  const table = VARIANTS.map((variant) => ({
    variant,
    claimsPerSecond: Math.round(median(of(variant).map((r) => r.claimsPerSecond))),
    p99Ms: Number(median(of(variant).map((r) => r.p99Ms)).toFixed(1)),
    ratioToNone: Number(median(of(variant).map((r) => r.ratioToNone!)).toFixed(3)),
    ...(variant === 'no endpoint'
      ? {}
      : { deliveriesPerSecond: Math.round(median(of(variant).map((r) => r.deliveriesPerSecond!))) }),
    ...(variant === 'subscribed'
      ? { drainSeconds: Number(median(of(variant).map((r) => r.drainSeconds!)).toFixed(2)) }
      : {}),
  }));
  console.table(table);
  const dir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `webhooks-${startedAt.toISOString().slice(0, 19).replace(/:/g, '')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        startedAt,
        machine: { cpus: cpus().length, loadavg: loadavg() },
        setup: `PostgreSQL, ${STRATEGY}, in-process server pool ${POOL}, ${CONCURRENCY} requests in flight, ${CLAIMS} admitted claims per sale after ${WARM_UP_CLAIMS} warm-up, dispatcher in process (concurrency ${loadConfig({}).webhooks.concurrency}), local receiver answering 204`,
        table,
        rounds,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`results: ${file}`);
}

await main();
