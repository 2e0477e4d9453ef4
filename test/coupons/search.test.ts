/**
 * `GET /v1/coupons` on PostgreSQL and PGlite: every filter, keyset pages that neither skip nor
 * repeat rows (even when thousands share one issued_at), bad input; and on PostgreSQL, the plan
 * of each filter's first and deep page uses its index and never scans the coupons table.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CouponSearch, type SearchPosition, searchQuery } from '../../src/coupons/search.js';
import { type Db, queryRows } from '../../src/db/client.js';
import { bearer, problemOf, rowCounts, useTestApp } from '../helpers/app.js';
import { ENGINES } from '../support/database.js';

const CAMPAIGNS = 20;

/**
 * Seeds `n` coupons over 20 campaigns in one SQL statement: every 2nd has an owner, every 10th is
 * redeemed, every 50th (offset 1) revoked; issued one second apart going back from now, except
 * the last 2,000 which share one issued_at (like a batch of generated codes).
 */
async function seed(db: Db, n: number): Promise<string[]> {
  const ids = Array.from({ length: CAMPAIGNS }, () => randomUUID());
  await db.execute(
    sql`INSERT INTO campaigns (id, name, status, total_quantity, discount_type, discount_value)
        SELECT id, 'search', 'active', 1000000, 'fixed', 100 FROM unnest(${`{${ids.join(',')}}`}::uuid[]) AS id`,
  );
  await db.execute(
    sql`INSERT INTO coupons (id, campaign_id, user_id, user_slot, code, status, issued_at, redeemed_at)
        SELECT gen_random_uuid(), (${`{${ids.join(',')}}`}::uuid[])[1 + i % ${CAMPAIGNS}],
               CASE WHEN i % 2 = 0 THEN 'user-' || i END, CASE WHEN i % 2 = 0 THEN 1 END,
               'CODE' || lpad(i::text, 12, '0'),
               CASE WHEN i % 10 = 0 THEN 'redeemed' WHEN i % 50 = 1 THEN 'revoked' ELSE 'issued' END,
               CASE WHEN i > ${n} - 2000 THEN timestamptz '2026-01-01 00:00:00.123456+00'
                    ELSE timestamptz '2026-01-01' - i * interval '1 second' END,
               CASE WHEN i % 10 = 0 THEN timestamptz '2026-02-01' - i * interval '1 second' END
        FROM generate_series(1, ${n}) AS i`,
  );
  await db.execute(sql`ANALYZE coupons`);
  await db.execute(sql`ANALYZE campaigns`);
  return ids;
}

describe.each(ENGINES)('coupon search on %s', (engine) => {
  const t = useTestApp(engine);
  let campaignIds: string[];
  const N = 6_000;

  beforeAll(async () => {
    campaignIds = await seed(t.database.db, N);
  });

  async function allPages(query: string, limit = 173) {
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 1000; pages++) {
      const url: string = `/v1/coupons?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`;
      const response = await t.app.inject({ url, headers: bearer(t.adminToken) });
      expect(response.statusCode).toBe(200);
      const page = response.json() as { items: { id: string }[]; nextCursor: string | null };
      ids.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    return ids;
  }

  async function expectedIds(where: ReturnType<typeof sql>, order = sql`issued_at DESC, id DESC`) {
    const rows = await queryRows<{ id: string }>(
      t.database.db,
      sql`SELECT id FROM coupons WHERE ${where} ORDER BY ${order}`,
    );
    return rows.map((row) => row.id);
  }

  it('pages through every coupon exactly once, in order, across a shared issued_at', async () => {
    expect(await allPages('')).toEqual(await expectedIds(sql`true`));
  });

  it.each([
    ['campaign', () => `&campaignId=${campaignIds[3]}`, () => sql`campaign_id = ${campaignIds[3]}`],
    ['user', () => '&userId=user-1000', () => sql`user_id = 'user-1000'`],
    ['code', () => '&code=CODE000000000777', () => sql`code = 'CODE000000000777'`],
    ['status redeemed', () => '&status=redeemed', () => sql`status = 'redeemed'`],
    ['status revoked', () => '&status=revoked', () => sql`status = 'revoked'`],
    [
      'issued range',
      () => '&issuedFrom=2025-12-31T23:30:00Z&issuedTo=2025-12-31T23:50:00Z',
      () => sql`issued_at >= '2025-12-31T23:30:00Z' AND issued_at < '2025-12-31T23:50:00Z'`,
    ],
    [
      'campaign and status',
      () => `&campaignId=${campaignIds[0]}&status=redeemed`,
      () => sql`campaign_id = ${campaignIds[0]} AND status = 'redeemed'`,
    ],
  ])('filters by %s', async (_label, query, where) => {
    const expected = await expectedIds(where());
    expect(expected.length).toBeGreaterThan(0);
    expect(await allPages(query(), 29)).toEqual(expected);
  });

  it('orders by redemption time when filtering by a redeemed range', async () => {
    const expected = await expectedIds(
      sql`redeemed_at >= '2026-01-31T23:00:00Z' AND redeemed_at < '2026-02-01T00:00:00Z'`,
      sql`redeemed_at DESC, id DESC`,
    );
    expect(expected.length).toBeGreaterThan(100);
    expect(await allPages('&redeemedFrom=2026-01-31T23:00:00Z&redeemedTo=2026-02-01T00:00:00Z', 50)).toEqual(
      expected,
    );
  });

  it('hides the coupons of deleted campaigns', async () => {
    const campaignId = campaignIds[5]!;
    await t.database.db.execute(sql`UPDATE campaigns SET deleted_at = now() WHERE id = ${campaignId}`);
    try {
      expect(await allPages(`&campaignId=${campaignId}`)).toEqual([]);
    } finally {
      await t.database.db.execute(sql`UPDATE campaigns SET deleted_at = NULL WHERE id = ${campaignId}`);
    }
  });

  it.each([
    ['a malformed cursor', 'cursor=not-a-cursor', 'querystring/cursor'],
    [
      'a cursor of another list',
      `cursor=${Buffer.from('["2026-01-01T00:00:00.000Z","x"]').toString('base64url')}`,
      'querystring/cursor',
    ],
    ['an unknown status', 'status=lost', 'querystring/status'],
    ['a malformed date', 'issuedFrom=yesterday', 'querystring/issuedFrom'],
    ['an unknown filter', 'colour=red', 'querystring'],
    ['a limit of 0', 'limit=0', 'querystring/limit'],
  ])('rejects %s with a problem naming the field', async (_label, query, field) => {
    const before = await rowCounts(t.database);
    const problem = problemOf(
      await t.app.inject({ url: `/v1/coupons?${query}`, headers: bearer(t.adminToken) }),
    );
    expect(problem.status).toBe(400);
    expect(problem.body.errors?.map((e) => e.field).join(' ')).toContain(field);
    expect(await rowCounts(t.database)).toEqual(before);
  });

  it('is for admins only', async () => {
    expect(
      (await t.app.inject({ url: '/v1/coupons', headers: bearer(await t.userToken('curious')) })).statusCode,
    ).toBe(403);
  });
});

/**
 * The plans, on PostgreSQL with 100,000 coupons (ANALYZEd, planner defaults — seq scans allowed):
 * at this size a sequential scan plus sort would be the plan if the index did not fit, so an
 * index in the plan is the planner's real choice. The deep page starts after row 75,000.
 */
describe('coupon search plans on postgres', () => {
  const t = useTestApp('postgres');
  let campaignIds: string[];
  let deep: SearchPosition;

  beforeAll(async () => {
    campaignIds = await seed(t.database.db, 100_000);
    const [row] = await queryRows<{ at: string; id: string }>(
      t.database.db,
      sql`SELECT issued_at::text AS at, id FROM coupons ORDER BY issued_at DESC, id DESC OFFSET 75000 LIMIT 1`,
    );
    deep = row!;
  }, 120_000);

  /** Index names and scanned relations in the plan of one search page. */
  async function plan(filters: CouponSearch, after?: SearchPosition) {
    const rows = await queryRows<{ 'QUERY PLAN': unknown }>(
      t.database.db,
      sql`EXPLAIN (FORMAT JSON) ${searchQuery(filters, 50, after)}`,
    );
    const raw = rows[0]!['QUERY PLAN'];
    const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
    if (process.env.TEST_SHOW_PLAN)
      console.log(
        JSON.stringify(filters),
        after ? 'deep' : 'first',
        text.replace(/\s+/g, ' ').slice(0, 1500),
      );
    const indexes = new Set([...text.matchAll(/"Index Name":\s*"([^"]+)"/g)].map((m) => m[1]));
    const seqScanned = new Set(
      [...text.matchAll(/"Node Type":\s*"Seq Scan",[^}]*?"Relation Name":\s*"([^"]+)"/g)].map((m) => m[1]),
    );
    return { indexes, seqScanned };
  }

  const cases: [string, () => CouponSearch, string][] = [
    ['no filter', () => ({}), 'coupons_issued_idx'],
    ['campaign', () => ({ campaignId: campaignIds[2] }), 'coupons_campaign_issued_idx'],
    ['user', () => ({ userId: 'user-100000' }), 'coupons_user_slot_unique'],
    ['code', () => ({ code: 'CODE000000012345' }), 'coupons_code_unique'],
    ['status', () => ({ status: 'revoked' }), 'coupons_status_issued_idx'],
    [
      'issued range',
      () => ({ issuedFrom: new Date('2025-12-30T00:00:00Z'), issuedTo: new Date('2025-12-31T00:00:00Z') }),
      'coupons_issued_idx',
    ],
    [
      'redeemed range',
      () => ({
        redeemedFrom: new Date('2026-01-30T00:00:00Z'),
        redeemedTo: new Date('2026-01-31T00:00:00Z'),
      }),
      'coupons_redeemed_idx',
    ],
  ];

  it.each(cases)(
    'uses its index for the first and a deep page when filtering by %s',
    async (_label, filters, index) => {
      for (const after of [undefined, deep]) {
        const { indexes, seqScanned } = await plan(filters(), after);
        expect([...indexes]).toContain(index);
        expect([...seqScanned]).not.toContain('coupons');
      }
    },
  );
});
