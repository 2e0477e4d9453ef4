/**
 * Webhook benchmark (`npm run bench:webhooks`): a flash sale on PostgreSQL with and without an
 * endpoint subscribed to `coupon.issued`, in one run on one fresh database (dropped at the end).
 *
 * Each round (--rounds, default 3) runs both variants in turn (their order rotates; the machine is
 * shared and noisy, so both meet the same load):
 * - `no endpoint`: the claim statements read the empty endpoints table and write no outbox row;
 * - `subscribed`: one endpoint subscribed to `coupon.issued`, a local receiver answering 204, and a
 *   dispatcher in the server's process (as `serve` runs one, WEBHOOK_CONCURRENCY 16): every
 *   admitted claim writes an event and a delivery in its own statement, and is delivered while
 *   the sale goes on.
 * A sale is `simulate` with --claims distinct users, stock = users (every claim admitted, each
 * one a coupon.issued), --concurrency HTTP requests in flight, strategy --strategy (db-batch, the
 * default one), after a warm-up sale. Figures: claims/s and p99 of each variant (median of the
 * rounds), the ratio subscribed / none, and for `subscribed` the delivery throughput: events
 * delivered per second from the sale's first request until the receiver has them all, and how
 * long after the sale's end the last one arrived.
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

type Variant = 'no endpoint' | 'subscribed';

interface Round {
  variant: Variant;
  round: number;
  claimsPerSecond: number;
  p99Ms: number;
  issued: number;
  /** subscribed: coupon.issued deliveries received during and after the sale. */
  delivered?: number;
  /** subscribed: delivered / seconds from the sale's start to the last delivery. */
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
  if (variant === 'subscribed') {
    await queryRows(
      admin.db,
      sql`INSERT INTO webhook_endpoints (url, events, secret) VALUES (${receiver.url}, ARRAY['coupon.issued'], ${newSecret()})`,
    );
  }
  const target = await startInProcessTarget({ config, strategy: STRATEGY, databaseUrl });
  // The dispatcher of `serve`, in the server's process, with its own small pool.
  const dispatcherDb = await openDatabase({ url: databaseUrl, poolSize: 4 });
  const dispatcher = new WebhookDispatcher({
    db: dispatcherDb.db,
    ...base.webhooks,
    allowPrivateUrls: true,
    logger: { warn: (object, message) => console.warn(message, object) },
  });
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
    if (variant === 'subscribed') await receiver.waitFor(WARM_UP_CLAIMS);
    receiver.reset();
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
    if (variant === 'subscribed') {
      await receiver.waitFor(report.figures.issued);
      result.delivered = receiver.count;
      result.deliveriesPerSecond = receiver.count / ((receiver.lastAt - startedAt) / 1000);
      result.drainSeconds = Math.max(0, (receiver.lastAt - endedAt) / 1000);
    }
    return result;
  } finally {
    await dispatcher.stop();
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
      const order: Variant[] = round % 2 ? ['subscribed', 'no endpoint'] : ['no endpoint', 'subscribed'];
      for (const variant of order) {
        const result = await sale(database.url!, variant, round, receiver);
        console.log(JSON.stringify(result));
        rounds.push(result);
      }
    }
  } finally {
    await receiver.close();
    await database.close();
  }
  const of = (variant: Variant) => rounds.filter((r) => r.variant === variant);
  const table = (['no endpoint', 'subscribed'] as Variant[]).map((variant) => ({
    variant,
    claimsPerSecond: Math.round(median(of(variant).map((r) => r.claimsPerSecond))),
    p99Ms: median(of(variant).map((r) => r.p99Ms)),
    ...(variant === 'subscribed'
      ? {
          deliveriesPerSecond: Math.round(median(of(variant).map((r) => r.deliveriesPerSecond!))),
          drainSeconds: Number(median(of(variant).map((r) => r.drainSeconds!)).toFixed(2)),
        }
      : {}),
  }));
  const ratio = table[1]!.claimsPerSecond / table[0]!.claimsPerSecond;
  console.table(table);
  console.log(`claims/s subscribed / no endpoint: ${ratio.toFixed(3)}`);
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
        ratioSubscribedToNone: ratio,
        rounds,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`results: ${file}`);
}

await main();
