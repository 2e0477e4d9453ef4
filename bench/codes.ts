/**
 * `npm run bench:codes [-- --url URL] [--codes N] [--rows N] [--iterations N]`
 *
 * On a scratch PostgreSQL database (created on the server of URL, default
 * postgres://postgres@127.0.0.1:5432/postgres, dropped at the end), in one run:
 *
 * 1. Code generation: `--codes` (default 1,000,000) codes through Stampede's code path
 *    (generateCampaignCodes: crypto generation, unnest batches of 10,000, ON CONFLICT, issued_count)
 *    vs a raw `COPY` of the same number of pre-made 16-character codes into a table with only a
 *    unique index. Reports both times and the ratio (issue 4 target: ≤ 2×).
 * 2. Coupon search: `--rows` (default 10,000,000) coupons seeded with generate_series (indexes
 *    dropped during the load and rebuilt after, the slot trigger disabled: bench data only), then
 *    `--iterations` (default 200) first pages and deep pages per filter of GET /v1/coupons' query,
 *    p50 / p99 in ms (target: p99 < 20 ms). `--rows 0` skips this part.
 *
 * Prints a table and writes bench/results/codes-<date>.json.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'drizzle-orm';
import { from as copyFrom } from 'pg-copy-streams';
import { codeOptions, generateCodes } from '../src/codes/generator.js';
import { generateCampaignCodes } from '../src/codes/service.js';
import { type CouponSearch, type SearchPosition, searchQuery } from '../src/coupons/search.js';
import { openDatabase, queryRows } from '../src/db/client.js';
import { runMigrations } from '../src/db/migrate.js';
import { adminQuery, databaseUrl } from '../test/support/database.js';

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}

const serverUrl = argument('url', 'postgres://postgres@127.0.0.1:5432/postgres');
const CODES = Number(argument('codes', '1000000'));
const ROWS = Number(argument('rows', '10000000'));
const ITERATIONS = Number(argument('iterations', '200'));
const CAMPAIGNS = 1000;

const seconds = (since: number) => (performance.now() - since) / 1000;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const name = `stampede_bench_${randomBytes(4).toString('hex')}`;
await adminQuery(`CREATE DATABASE ${name}`, serverUrl);
const url = databaseUrl(name, serverUrl);
const database = await openDatabase({ url, poolSize: 4, statementTimeoutMs: 3_600_000 });
const results: Record<string, unknown> = { date: new Date().toISOString(), codes: CODES, rows: ROWS };

try {
  await runMigrations(database);
  const { db, pool } = database;

  // 1. Generation vs raw COPY.
  const raw = generateCodes(codeOptions({}), CODES);
  await db.execute(sql`CREATE TABLE bench_raw_codes (code text NOT NULL)`);
  await db.execute(sql`CREATE UNIQUE INDEX bench_raw_codes_unique ON bench_raw_codes (code)`);
  const client = await pool!.connect();
  let copySeconds: number;
  try {
    const started = performance.now();
    await pipeline(
      Readable.from(
        (function* () {
          for (let i = 0; i < raw.length; i += 10_000) yield `${raw.slice(i, i + 10_000).join('\n')}\n`;
        })(),
      ),
      client.query(copyFrom('COPY bench_raw_codes (code) FROM STDIN')),
    );
    copySeconds = seconds(started);
  } finally {
    client.release();
  }
  const [campaign] = await queryRows<{ id: string }>(
    db,
    sql`INSERT INTO campaigns (name, status, total_quantity, discount_type, discount_value)
        VALUES ('bench', 'active', ${CODES}, 'fixed', 100) RETURNING id`,
  );
  const started = performance.now();
  const generated = await generateCampaignCodes(db, {
    campaignId: campaign!.id,
    count: CODES,
    options: codeOptions({}),
  });
  const generateSeconds = seconds(started);
  results.generation = {
    rawCopySeconds: copySeconds,
    stampedeSeconds: generateSeconds,
    generated,
    ratio: generateSeconds / copySeconds,
  };
  console.log(`raw COPY of ${CODES} codes:       ${copySeconds.toFixed(2)} s`);
  console.log(
    `Stampede generation of ${generated}: ${generateSeconds.toFixed(2)} s  (ratio ${(generateSeconds / copySeconds).toFixed(2)}×, target ≤ 2×)`,
  );

  if (ROWS > 0) {
    // 2. Seed ROWS coupons fast: indexes off during the load, rebuilt after.
    const seedStarted = performance.now();
    await db.execute(sql`DELETE FROM coupons`);
    await db.execute(sql`DELETE FROM campaigns`);
    await db.execute(sql`DROP TABLE bench_raw_codes`);
    await db.execute(
      sql`INSERT INTO campaigns (name, status, total_quantity, discount_type, discount_value)
          SELECT 'bench ' || i, 'active', 100000000, 'fixed', 100 FROM generate_series(1, ${CAMPAIGNS}) i`,
    );
    const indexes = await queryRows<{ indexname: string; indexdef: string }>(
      db,
      sql`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'coupons' AND indexname <> 'coupons_pkey'`,
    );
    for (const index of indexes) await db.execute(sql.raw(`DROP INDEX ${index.indexname}`));
    await db.execute(sql`ALTER TABLE coupons DISABLE TRIGGER USER`);
    const CHUNK = 1_000_000;
    for (let from = 1; from <= ROWS; from += CHUNK) {
      const to = Math.min(ROWS, from + CHUNK - 1);
      // Every 2nd coupon has an owner (user-<i>), every 10th is redeemed, every 50th revoked; one
      // coupon issued per second going back from now; codes are unique 16-character strings.
      await db.execute(
        sql`INSERT INTO coupons (id, campaign_id, user_id, user_slot, code, status, issued_at, redeemed_at)
            SELECT gen_random_uuid(), k.ids[1 + i % ${CAMPAIGNS}],
                   CASE WHEN i % 2 = 0 THEN 'user-' || i END, CASE WHEN i % 2 = 0 THEN 1 END,
                   upper(lpad(to_hex(i), 8, '0')) || substr(md5(i::text), 1, 8),
                   CASE WHEN i % 10 = 0 THEN 'redeemed' WHEN i % 50 = 1 THEN 'revoked' ELSE 'issued' END,
                   now() - i * interval '1 second',
                   CASE WHEN i % 10 = 0 THEN now() - i * interval '1 second' + interval '1 hour' END
            FROM generate_series(${from}::int, ${to}::int) AS i,
                 (SELECT array_agg(id ORDER BY id) AS ids FROM campaigns) k`,
      );
      process.stdout.write(`\rseeded ${to} coupons (${seconds(seedStarted).toFixed(0)} s)`);
    }
    await db.execute(sql`ALTER TABLE coupons ENABLE TRIGGER USER`);
    const client2 = await pool!.connect();
    try {
      await client2.query(`SET maintenance_work_mem = '512MB'`);
      for (const index of indexes) await client2.query(index.indexdef);
      await client2.query('VACUUM ANALYZE coupons');
      await client2.query('ANALYZE campaigns');
    } finally {
      client2.release();
    }
    const seedSeconds = seconds(seedStarted);
    console.log(`\nseeded and indexed ${ROWS} coupons in ${seedSeconds.toFixed(0)} s`);

    const campaignIds = (await queryRows<{ id: string }>(db, sql`SELECT id FROM campaigns`)).map((r) => r.id);
    const pick = <T>(items: T[]) => items[Math.floor(Math.random() * items.length)]!;
    const at = (i: number) => new Date(Date.now() - i * 1000);
    const filters: Record<string, () => CouponSearch> = {
      none: () => ({}),
      campaign: () => ({ campaignId: pick(campaignIds) }),
      user: () => ({ userId: `user-${2 * (1 + Math.floor((Math.random() * ROWS) / 2 - 1))}` }),
      code: () => {
        const i = 1 + Math.floor(Math.random() * (ROWS - 1));
        // The seeded code of coupon i (see the INSERT above).
        const suffix = createHash('md5').update(String(i)).digest('hex').slice(0, 8);
        return { code: i.toString(16).toUpperCase().padStart(8, '0') + suffix };
      },
      status: () => ({ status: pick(['redeemed', 'revoked', 'issued'] as const) }),
      issuedRange: () => {
        const start = Math.floor(Math.random() * (ROWS - 86_400));
        return { issuedFrom: at(start + 86_400), issuedTo: at(start) };
      },
      redeemedRange: () => {
        const start = Math.floor(Math.random() * (ROWS - 86_400));
        return { redeemedFrom: at(start + 86_400), redeemedTo: at(start) };
      },
    };
    const search: Record<
      string,
      { first: { p50: number; p99: number }; deep: { p50: number; p99: number } }
    > = {};
    for (const [label, makeFilters] of Object.entries(filters)) {
      const timings = { first: [] as number[], deep: [] as number[] };
      for (let i = 0; i < ITERATIONS; i++) {
        const filter = makeFilters();
        // A deep position: the 50th page of this filter's sort order, found without timing.
        const deepRows = await queryRows<{ sort_at: string; id: string }>(
          db,
          sql`SELECT sort_at, id FROM (${searchQuery(filter, 2_500)}) p OFFSET 2499`,
        );
        const deep: SearchPosition | undefined = deepRows[0] && {
          at: deepRows[0].sort_at,
          id: deepRows[0].id,
        };
        for (const [kind, after] of [
          ['first', undefined],
          ['deep', deep],
        ] as const) {
          if (kind === 'deep' && !after) continue;
          const t0 = performance.now();
          await queryRows(db, searchQuery(filter, 50, after));
          timings[kind].push(performance.now() - t0);
        }
      }
      const summary = (values: number[]) => {
        const sorted = [...values].sort((a, b) => a - b);
        return sorted.length === 0
          ? { p50: Number.NaN, p99: Number.NaN }
          : { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
      };
      search[label] = { first: summary(timings.first), deep: summary(timings.deep) };
      const f = search[label]!.first;
      const d = search[label]!.deep;
      console.log(
        `search ${label.padEnd(14)} first p50 ${f.p50.toFixed(2)} ms  p99 ${f.p99.toFixed(2)} ms | page 50 p50 ${d.p50.toFixed(2)} ms  p99 ${d.p99.toFixed(2)} ms`,
      );
    }
    results.search = {
      rows: ROWS,
      iterations: ITERATIONS,
      seedSeconds,
      pageSize: 50,
      deepPage: 50,
      filters: search,
    };
  }
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/codes-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`;
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${file}`);
} finally {
  await database.close();
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, serverUrl);
}
