/**
 * Spend budgets on PostgreSQL and PGlite: a campaign's `budget` caps the total discount its
 * redemptions grant (CHECK campaigns_redeemed_within_budget), for coupons, generated codes and
 * shared codes; a rollback gives the discount back; a PATCH cannot lower the budget below what
 * was already redeemed.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client.js';
import { bearer, campaignBody, createCampaign, problemOf, useTestApp } from '../helpers/app.js';
import { ENGINES } from '../support/database.js';

/** Every test's campaigns give a fixed 10.00 off an order of 50.00. */
const DISCOUNT = 1000;
const ORDER_AMOUNT = 5000;

describe.each(ENGINES)('spend budgets on %s', (engine) => {
  const t = useTestApp(engine);
  let userSeq = 0;

  const readCampaign = async (id: string) => {
    const response = await t.app.inject({
      method: 'GET',
      url: `/v1/campaigns/${id}`,
      headers: bearer(t.adminToken),
    });
    expect(response.statusCode).toBe(200);
    return response.json();
  };

  /** An admin request on a campaign's resource (`path` after `/v1/campaigns/{id}`). */
  const asAdmin = (method: 'PATCH' | 'POST' | 'PUT', id: string, path: string, payload: object) =>
    t.app.inject({ method, url: `/v1/campaigns/${id}${path}`, headers: bearer(t.adminToken), payload });
  const patch = (id: string, payload: object) => asAdmin('PATCH', id, '', payload);

  const redeem = async (userId: string, target: { couponId: string } | { code: string }) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/redemptions',
      headers: bearer(await t.userToken(userId)),
      payload: { ...target, orderId: `order-${userId}`, orderAmount: ORDER_AMOUNT },
    });

  /** `count` fresh users who each claimed one coupon of `campaignId`. */
  async function holders(campaignId: string, count: number) {
    return Promise.all(
      Array.from({ length: count }, async () => {
        const userId = `budget-user-${++userSeq}`;
        const claim = await t.app.inject({
          method: 'POST',
          url: `/v1/campaigns/${campaignId}/claims`,
          headers: bearer(await t.userToken(userId)),
        });
        expect(claim.statusCode).toBe(201);
        return { userId, couponId: claim.json().coupon.id as string };
      }),
    );
  }

  /** `created` for a 201, else the problem code. */
  const codeOf = (response: { statusCode: number; json(): { code?: string } }): string =>
    response.statusCode === 201 ? 'created' : (response.json().code ?? `status ${response.statusCode}`);

  const tally = (responses: { statusCode: number; json(): { code?: string } }[]) => {
    const counts: Record<string, number> = {};
    for (const r of responses) {
      const code = codeOf(r);
      counts[code] = (counts[code] ?? 0) + 1;
    }
    return counts;
  };

  /**
   * What the database holds for a campaign: its redeemed amount and completed redemptions. Checks
   * on the way that its redeemed_count counts exactly the completed redemptions.
   */
  async function stored(campaignId: string) {
    const [row] = await queryRows<{
      redeemed_amount: number;
      redeemed_count: number;
      redemptions: number;
      discounts: number;
    }>(
      t.database.db,
      sql`SELECT k.redeemed_amount::int AS redeemed_amount, k.redeemed_count,
                 (SELECT count(*)::int FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
                   WHERE c.campaign_id = k.id AND r.status = 'completed') AS redemptions,
                 (SELECT coalesce(sum(r.discount_amount), 0)::int FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
                   WHERE c.campaign_id = k.id AND r.status = 'completed') AS discounts
          FROM campaigns k WHERE k.id = ${campaignId}`,
    );
    const { redeemed_count: counted, ...rest } = row!;
    expect(counted).toBe(rest.redemptions);
    return rest;
  }

  it('shows budget, redeemedAmount and budgetRemaining, all unlimited without a budget', async () => {
    const budgeted = await createCampaign(t, { budget: 25_000 });
    expect(budgeted).toMatchObject({ budget: 25_000, redeemedAmount: 0, budgetRemaining: 25_000 });
    const unlimited = await createCampaign(t);
    expect(unlimited).toMatchObject({ budget: null, redeemedAmount: 0, budgetRemaining: null });
  });

  it.each([-1, 1.5, '1000'])('refuses a campaign with a budget of %j, naming body/budget', async (budget) => {
    const before = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM campaigns`,
    );
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: bearer(t.adminToken),
      payload: campaignBody({ budget }),
    });
    const problem = problemOf(response);
    expect(problem.status).toBe(400);
    expect(problem.body.errors?.map((e) => e.field)).toContain('body/budget');
    const after = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM campaigns`,
    );
    expect(after).toEqual(before);
  });

  it('lets exactly 10 of 60 concurrent redemptions of distinct coupons through a budget for 10 discounts', async () => {
    const campaign = await createCampaign(t, {
      totalQuantity: 60,
      discount: { type: 'fixed', amount: DISCOUNT },
      budget: 10 * DISCOUNT,
    });
    const users = await holders(campaign.id, 60);
    const responses = await Promise.all(users.map((u) => redeem(u.userId, { couponId: u.couponId })));

    expect(tally(responses)).toEqual({ created: 10, 'budget-exhausted': 50 });
    const refused = problemOf(responses.find((r) => r.statusCode === 409)!);
    expect(refused.status).toBe(409);
    expect(refused.contentType).toMatch(/^application\/problem\+json/);
    expect(refused.body.type).toBe('https://stampede.dev/problems/budget-exhausted');
    expect(await readCampaign(campaign.id)).toMatchObject({
      budget: 10 * DISCOUNT,
      redeemedAmount: 10 * DISCOUNT,
      budgetRemaining: 0,
    });
    expect(await stored(campaign.id)).toEqual({
      redeemed_amount: 10 * DISCOUNT,
      redemptions: 10,
      discounts: 10 * DISCOUNT,
    });
    // The refused coupons were left issued: no partial write.
    const [coupons] = await queryRows<{ redeemed: number; issued: number }>(
      t.database.db,
      sql`SELECT count(*) FILTER (WHERE status = 'redeemed')::int AS redeemed,
                 count(*) FILTER (WHERE status = 'issued')::int AS issued
          FROM coupons WHERE campaign_id = ${campaign.id}`,
    );
    expect(coupons).toEqual({ redeemed: 10, issued: 50 });
  });

  it('gives the discount back on rollback, so one more redemption then succeeds', async () => {
    const campaign = await createCampaign(t, {
      totalQuantity: 3,
      discount: { type: 'fixed', amount: DISCOUNT },
      budget: 2 * DISCOUNT,
    });
    const [first, second, third] = await holders(campaign.id, 3);
    const redeemed = await redeem(first!.userId, { couponId: first!.couponId });
    expect(redeemed.statusCode).toBe(201);
    expect((await redeem(second!.userId, { couponId: second!.couponId })).statusCode).toBe(201);
    expect(codeOf(await redeem(third!.userId, { couponId: third!.couponId }))).toBe('budget-exhausted');

    const rollback = await t.app.inject({
      method: 'POST',
      url: `/v1/redemptions/${redeemed.json().id}/rollback`,
      headers: bearer(t.serviceToken),
    });
    expect(rollback.statusCode).toBe(200);
    expect(await readCampaign(campaign.id)).toMatchObject({
      redeemedAmount: DISCOUNT,
      budgetRemaining: DISCOUNT,
    });

    expect((await redeem(third!.userId, { couponId: third!.couponId })).statusCode).toBe(201);
    expect(await stored(campaign.id)).toEqual({
      redeemed_amount: 2 * DISCOUNT,
      redemptions: 2,
      discounts: 2 * DISCOUNT,
    });
  });

  it('refuses a PATCH lowering the budget below redeemedAmount, naming body/budget', async () => {
    const campaign = await createCampaign(t, {
      totalQuantity: 2,
      discount: { type: 'fixed', amount: DISCOUNT },
      budget: 5 * DISCOUNT,
    });
    const [holder] = await holders(campaign.id, 1);
    expect((await redeem(holder!.userId, { couponId: holder!.couponId })).statusCode).toBe(201);

    const lowered = problemOf(await patch(campaign.id, { budget: DISCOUNT - 1 }));
    expect(lowered.status).toBe(400);
    expect(lowered.body.code).toBe('validation-failed');
    expect(lowered.body.errors?.map((e) => e.field)).toEqual(['body/budget']);
    expect(await readCampaign(campaign.id)).toMatchObject({ budget: 5 * DISCOUNT, redeemedAmount: DISCOUNT });

    const negative = problemOf(await patch(campaign.id, { budget: -1 }));
    expect(negative.status).toBe(400);
    expect(negative.body.errors?.[0]?.field).toBe('body/budget');

    const exact = await patch(campaign.id, { budget: DISCOUNT });
    expect(exact.statusCode).toBe(200);
    expect(exact.json()).toMatchObject({ budget: DISCOUNT, redeemedAmount: DISCOUNT, budgetRemaining: 0 });
    const lifted = await patch(campaign.id, { budget: null });
    expect(lifted.json()).toMatchObject({ budget: null, redeemedAmount: DISCOUNT, budgetRemaining: null });
  });

  it('caps generated codes by the budget, and validation reports budget-exhausted', async () => {
    const campaign = await createCampaign(t, {
      totalQuantity: 10,
      discount: { type: 'fixed', amount: DISCOUNT },
      budget: DISCOUNT,
    });
    const generated = await asAdmin('POST', campaign.id, '/codes', { count: 2 });
    expect(generated.statusCode).toBe(201);
    const codes = await queryRows<{ code: string }>(
      t.database.db,
      sql`SELECT code FROM coupons WHERE campaign_id = ${campaign.id} ORDER BY code`,
    );
    const [first, second] = codes.map((row) => row.code);
    expect((await redeem('code-user-1', { code: first! })).statusCode).toBe(201);
    const validation = await t.app.inject({
      method: 'POST',
      url: '/v1/redemptions/validate',
      headers: bearer(await t.userToken('code-user-2')),
      payload: { code: second!, orderAmount: ORDER_AMOUNT },
    });
    expect(validation.json()).toMatchObject({ valid: false, reason: 'budget-exhausted' });
    expect(codeOf(await redeem('code-user-2', { code: second! }))).toBe('budget-exhausted');
    expect(await stored(campaign.id)).toEqual({
      redeemed_amount: DISCOUNT,
      redemptions: 1,
      discounts: DISCOUNT,
    });
  });

  it('caps a shared code by the budget without leaving the refused user a coupon', async () => {
    const campaign = await createCampaign(t, {
      totalQuantity: 10,
      discount: { type: 'fixed', amount: DISCOUNT },
      budget: 3 * DISCOUNT,
    });
    const code = `BUDGET3-${engine}`;
    const put = await asAdmin('PUT', campaign.id, '/shared-code', { code });
    expect(put.statusCode).toBe(200);
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => redeem(`sharer-${i}`, { code })));
    expect(tally(responses)).toEqual({ created: 3, 'budget-exhausted': 5 });
    const [row] = await queryRows<{ coupons: number; issued: number }>(
      t.database.db,
      sql`SELECT (SELECT count(*)::int FROM coupons WHERE campaign_id = ${campaign.id}) AS coupons,
                 (SELECT issued_count FROM campaigns WHERE id = ${campaign.id}) AS issued`,
    );
    expect(row).toEqual({ coupons: 3, issued: 3 });
    expect(await stored(campaign.id)).toEqual({
      redeemed_amount: 3 * DISCOUNT,
      redemptions: 3,
      discounts: 3 * DISCOUNT,
    });
  });
});
