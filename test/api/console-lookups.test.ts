/**
 * The operator console's look-ups over HTTP on PostgreSQL and PGlite: redemptions by coupon, code
 * or order (keyset pages, the one-of-three rule), the campaigns' redemption count kept by redeem
 * and rollback, the campaign name search `q` (wildcards taken literally, with status and cursor),
 * and dead letters listed on every engine, retried only where a redis-gate runs (the redis-gate
 * retry itself: test/redis/dead-letters-api.test.ts). On PostgreSQL, the plan of a look-up's first
 * and deep page uses its index and never scans the redemptions or coupons table.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client.js';
import type { KeysetPosition } from '../../src/db/keyset.js';
import { insertDeadLetter } from '../../src/gate/persist.js';
import { type RedemptionSearch, redemptionSearchQuery } from '../../src/redemptions/search.js';
import {
  bearer,
  createCampaign,
  problemOf,
  rowCounts,
  type TestApp,
  testUserId,
  useTestApp,
} from '../helpers/app.js';
import { ENGINES } from '../support/database.js';

/** Reads `url` as admin (or with `token`) and returns the response. */
const get = (t: TestApp, url: string, token = t.adminToken) =>
  t.app.inject({ method: 'GET', url, headers: bearer(token) });

describe.each(ENGINES)('console look-ups on %s', (engine) => {
  const t = useTestApp(engine);
  let userSeq = 0;

  /** Claims a coupon of `campaignId` for a fresh user and redeems it for `orderId`; returns both ids. */
  async function redeemed(campaignId: string, orderId: string) {
    const token = await t.userToken(`lookup-${++userSeq}`);
    const claim = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaignId}/claims`,
      headers: bearer(token),
    });
    expect(claim.statusCode).toBe(201);
    const couponId = claim.json().coupon.id as string;
    const redemption = await t.app.inject({
      method: 'POST',
      url: '/v1/redemptions',
      headers: bearer(token),
      payload: { couponId, orderId, orderAmount: 5000 },
    });
    expect(redemption.statusCode).toBe(201);
    return { couponId, redemptionId: redemption.json().id as string };
  }

  const rollBack = (id: string) =>
    t.app.inject({ method: 'POST', url: `/v1/redemptions/${id}/rollback`, headers: bearer(t.adminToken) });

  it('finds the redemptions of an order page by page, each with its campaign, newest first', async () => {
    const campaign = await createCampaign(t, { name: 'Order look-up' });
    const order = `order-${randomUUID()}`;
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await redeemed(campaign.id, order));
    await redeemed(campaign.id, `other-${randomUUID()}`);

    const first = await get(t, `/v1/redemptions?orderId=${order}&limit=2`);
    expect(first.statusCode).toBe(200);
    const page1 = first.json() as { items: { id: string }[]; nextCursor: string };
    expect(page1.items).toHaveLength(2);
    expect(page1.items[0]).toMatchObject({
      id: made[2]!.redemptionId,
      couponId: made[2]!.couponId,
      orderId: order,
      orderAmount: 5000,
      discountAmount: 1000,
      status: 'completed',
      rolledBackAt: null,
      couponCode: null,
      campaignId: campaign.id,
      campaignName: 'Order look-up',
    });
    const second = await get(t, `/v1/redemptions?orderId=${order}&limit=2&cursor=${page1.nextCursor}`);
    const page2 = second.json() as { items: { id: string }[]; nextCursor: string | null };
    expect(page2.nextCursor).toBeNull();
    expect([...page1.items, ...page2.items].map((r) => r.id)).toEqual(
      made.map((m) => m.redemptionId).reverse(),
    );
  });

  it("finds a coupon's redemptions, rolled back and completed, by coupon id and by generated code", async () => {
    const campaign = await createCampaign(t);
    const { couponId, redemptionId } = await redeemed(campaign.id, 'order-first');
    expect((await rollBack(redemptionId)).statusCode).toBe(200);
    const again = await t.app.inject({
      method: 'POST',
      url: '/v1/redemptions',
      headers: bearer(t.serviceToken),
      payload: {
        couponId,
        orderId: 'order-second',
        orderAmount: 5000,
        userId: testUserId(`lookup-${userSeq}`),
      },
    });
    expect(again.statusCode).toBe(201);
    const byCoupon = (await get(t, `/v1/redemptions?couponId=${couponId}`)).json();
    expect(byCoupon.items.map((r: { orderId: string; status: string }) => [r.orderId, r.status])).toEqual([
      ['order-second', 'completed'],
      ['order-first', 'rolled_back'],
    ]);
    expect(byCoupon.items[1].rolledBackAt).toEqual(expect.any(String));

    const codes = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaign.id}/codes`,
      headers: bearer(t.adminToken),
      payload: { count: 2 },
    });
    expect(codes.statusCode).toBe(201);
    const code = (await get(t, `/v1/coupons?campaignId=${campaign.id}&limit=200`))
      .json()
      .items.find((c: { code: string | null }) => c.code !== null).code as string;
    const byCode = await t.app.inject({
      method: 'POST',
      url: '/v1/redemptions',
      headers: bearer(await t.userToken('code-holder')),
      payload: { code, orderId: 'order-code', orderAmount: 5000 },
    });
    expect(byCode.statusCode).toBe(201);
    const found = (await get(t, `/v1/redemptions?code=${code}`)).json();
    expect(found.items).toEqual([expect.objectContaining({ couponCode: code, orderId: 'order-code' })]);
    // Every filter given must hold.
    expect((await get(t, `/v1/redemptions?code=${code}&orderId=order-first`)).json().items).toEqual([]);
  });

  it('refuses a look-up naming no coupon, code or order with a 400 naming the three parameters', async () => {
    const before = await rowCounts(t.database);
    const problem = problemOf(await get(t, '/v1/redemptions?limit=5'));
    expect(problem).toMatchObject({ status: 400, body: { code: 'validation-failed' } });
    expect(problem.contentType).toMatch(/^application\/problem\+json/);
    expect(problem.body.errors!.map((e) => e.field)).toEqual([
      'querystring/couponId',
      'querystring/code',
      'querystring/orderId',
    ]);
    expect(problemOf(await get(t, '/v1/redemptions?orderId=x&cursor=nope'))).toMatchObject({
      status: 400,
      body: { errors: [{ field: 'querystring/cursor' }] },
    });
    expect((await get(t, '/v1/redemptions?orderId=x', t.serviceToken)).statusCode).toBe(403);
    expect(await rowCounts(t.database)).toEqual(before);
  });

  it('counts completed redemptions per campaign and takes a rolled-back one off the count', async () => {
    const campaign = await createCampaign(t);
    expect((await get(t, `/v1/campaigns/${campaign.id}`)).json().redeemedCount).toBe(0);
    const first = await redeemed(campaign.id, 'count-1');
    await redeemed(campaign.id, 'count-2');
    expect((await get(t, `/v1/campaigns/${campaign.id}`)).json()).toMatchObject({
      redeemedCount: 2,
      redeemedAmount: 2000,
    });
    expect((await rollBack(first.redemptionId)).statusCode).toBe(200);
    expect((await rollBack(first.redemptionId)).statusCode).toBe(409);
    const listed = (await get(t, '/v1/campaigns?limit=200'))
      .json()
      .items.find((c: { id: string }) => c.id === campaign.id);
    expect(listed).toMatchObject({ redeemedCount: 1, redeemedAmount: 1000 });
  });

  it('searches campaign names by any-case part, taking % and _ literally, with status and cursor', async () => {
    const tag = randomUUID().slice(0, 8);
    const names = [`Spring ${tag} 50%_off`, `spring ${tag} fifty`, `SPRING ${tag} 5000ff`];
    const made = [];
    for (const name of names) made.push(await createCampaign(t, { name }));
    await createCampaign(t, { name: `Winter ${tag}`, status: 'draft' });
    const search = async (q: string, extra = '') =>
      (await get(t, `/v1/campaigns?q=${encodeURIComponent(q)}${extra}`)).json() as {
        items: { name: string }[];
        nextCursor: string | null;
      };

    expect((await search(`spring ${tag}`)).items.map((c) => c.name)).toEqual([...names].reverse());
    expect((await search('50%_OFF')).items.map((c) => c.name)).toEqual([names[0]]);
    expect((await search(`${tag} _`)).items).toEqual([]);
    expect((await search(`winter ${tag}`, '&status=draft')).items).toHaveLength(1);
    expect((await search(`winter ${tag}`, '&status=active')).items).toEqual([]);
    // Drafts stay hidden from the public search.
    const publicSearch = await t.app.inject({ method: 'GET', url: `/v1/campaigns?q=winter%20${tag}` });
    expect(publicSearch.json().items).toEqual([]);

    const page1 = await search(`spring ${tag}`, '&limit=2');
    const page2 = await search(`spring ${tag}`, `&limit=2&cursor=${page1.nextCursor}`);
    expect([...page1.items, ...page2.items].map((c) => c.name)).toEqual([...names].reverse());
    expect(problemOf(await get(t, '/v1/campaigns?q='))).toMatchObject({
      status: 400,
      body: { errors: [{ field: 'querystring/q' }] },
    });
  });

  it('lists dead letters newest first by campaign with their reason, the error text to admins only', async () => {
    const campaign = await createCampaign(t);
    const other = await createCampaign(t);
    const claimIds = [randomUUID(), randomUUID(), randomUUID()];
    for (const [i, claimId] of claimIds.entries()) {
      await insertDeadLetter(
        t.database.db,
        i === 2 ? other.id : campaign.id,
        {
          entryId: `${i + 1}-0`,
          fields: ['c', claimId],
          claim: {
            claimId,
            userId: `dead-${i}`,
            userSlot: 1,
            admittedMs: Date.now(),
            campaignId: campaign.id,
          },
          deliveries: 5,
        },
        'persist-failed',
        `connection lost ${i}`,
        i,
      );
    }
    const first = (await get(t, `/v1/dead-letters?campaignId=${campaign.id}&limit=1`)).json();
    expect(first.items).toEqual([
      expect.objectContaining({
        claimId: claimIds[1],
        campaignId: campaign.id,
        userId: 'dead-1',
        reason: 'persist-failed',
        error: 'persist-failed: connection lost 1',
        deliveries: 5,
        retryable: true,
      }),
    ]);
    const second = (
      await get(t, `/v1/dead-letters?campaignId=${campaign.id}&limit=1&cursor=${first.nextCursor}`)
    ).json();
    expect(second.items.map((l: { claimId: string }) => l.claimId)).toEqual([claimIds[0]]);
    const asService = (await get(t, `/v1/dead-letters?campaignId=${other.id}`, t.serviceToken)).json();
    expect(asService.items).toEqual([expect.objectContaining({ reason: 'persist-failed', error: null })]);
    expect((await get(t, '/v1/dead-letters', await t.userToken('nosy'))).statusCode).toBe(403);
    expect((await get(t, `/v1/dead-letters?campaignId=${randomUUID()}`)).json()).toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it('answers a retry with gate-not-configured (409) on a server without the redis-gate, and 404 for an unknown id', async () => {
    const campaign = await createCampaign(t);
    const claimId = randomUUID();
    await insertDeadLetter(
      t.database.db,
      campaign.id,
      {
        entryId: '9-0',
        fields: ['c', claimId],
        claim: { claimId, userId: 'dead-x', userSlot: 1, admittedMs: Date.now(), campaignId: campaign.id },
        deliveries: 5,
      },
      'persist-failed',
      'boom',
      0,
    );
    const [letter] = (await get(t, `/v1/dead-letters?campaignId=${campaign.id}`)).json().items;
    const retry = (id: string) =>
      t.app.inject({ method: 'POST', url: `/v1/dead-letters/${id}/retry`, headers: bearer(t.adminToken) });
    expect(problemOf(await retry(letter.id))).toMatchObject({
      status: 409,
      body: { code: 'gate-not-configured' },
    });
    expect(problemOf(await retry(randomUUID()))).toMatchObject({ status: 404, body: { code: 'not-found' } });
    // Nothing was deleted.
    expect((await get(t, `/v1/dead-letters?campaignId=${campaign.id}`)).json().items).toHaveLength(1);
  });
});

describe('redemption look-up plans on PostgreSQL', () => {
  const t = useTestApp('postgres');
  const N = 50_000;
  let deep: KeysetPosition;

  beforeAll(async () => {
    const campaign = randomUUID();
    const db = t.database.db;
    await queryRows(
      db,
      sql`INSERT INTO campaigns (id, name, status, total_quantity, discount_type, discount_value)
          VALUES (${campaign}, 'plans', 'active', 1000000, 'fixed', 100)`,
    );
    // Every coupon redeemed once, 5 coupons per order, a second apart.
    await queryRows(
      db,
      sql`WITH c AS (
            INSERT INTO coupons (id, campaign_id, user_id, user_slot, code, status, redeemed_at)
            SELECT gen_random_uuid(), ${campaign}, 'user-' || i, 1, 'PLAN' || lpad(i::text, 10, '0'), 'redeemed', now()
            FROM generate_series(1, ${N}) AS i
            RETURNING id, user_id
          )
          INSERT INTO redemptions (coupon_id, user_id, order_id, order_amount, discount_amount, created_at)
          SELECT id, user_id, 'order-' || (substr(user_id, 6)::int / 5), 5000, 100,
                 timestamptz '2026-01-01' - substr(user_id, 6)::int * interval '1 second'
          FROM c`,
    );
    await queryRows(db, sql`ANALYZE coupons`);
    await queryRows(db, sql`ANALYZE redemptions`);
    const [row] = await queryRows<{ at: string; id: string }>(
      db,
      sql`SELECT created_at::text AS at, id FROM redemptions WHERE order_id = 'order-4000'
          ORDER BY created_at DESC, id DESC OFFSET 2 LIMIT 1`,
    );
    deep = row!;
  }, 120_000);

  /** Index names and sequentially scanned relations in the plan of one look-up page. */
  async function plan(filters: RedemptionSearch, after?: KeysetPosition) {
    const rows = await queryRows<{ 'QUERY PLAN': unknown }>(
      t.database.db,
      sql`EXPLAIN (FORMAT JSON) ${redemptionSearchQuery(filters, 2, after)}`,
    );
    const raw = rows[0]!['QUERY PLAN'];
    const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
    return {
      indexes: [...text.matchAll(/"Index Name":\s*"([^"]+)"/g)].map((m) => m[1]),
      seqScanned: [...text.matchAll(/"Node Type":\s*"Seq Scan",[^}]*?"Relation Name":\s*"([^"]+)"/g)].map(
        (m) => m[1],
      ),
    };
  }

  it.each([
    ['order', { orderId: 'order-4000' }, 'redemptions_order_idx'],
    ['code', { code: 'PLAN0000020000' }, 'coupons_code_unique'],
  ] as [string, RedemptionSearch, string][])(
    'uses its index for the first and a deep page when looking up by %s',
    async (_label, filters, index) => {
      for (const after of [undefined, deep]) {
        const { indexes, seqScanned } = await plan(filters, after);
        expect(indexes).toContain(index);
        expect(seqScanned).not.toContain('redemptions');
        expect(seqScanned).not.toContain('coupons');
      }
    },
  );

  it('uses redemptions_coupon_idx when looking up by coupon', async () => {
    const [coupon] = await queryRows<{ id: string }>(
      t.database.db,
      sql`SELECT id FROM coupons WHERE code = 'PLAN0000020000'`,
    );
    const { indexes, seqScanned } = await plan({ couponId: coupon!.id });
    expect(indexes).toContain('redemptions_coupon_idx');
    expect(seqScanned).not.toContain('redemptions');
    expect(seqScanned).not.toContain('coupons');
  });
});
