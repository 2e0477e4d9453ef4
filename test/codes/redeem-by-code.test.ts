/**
 * Redemption by code on PostgreSQL and PGlite: unique codes are single use under a race, shared
 * codes are once per user up to the total, suspension is O(1) and reversible, validation changes
 * nothing, soft delete hides codes and restore brings them back, and the Idempotency-Key works
 * as for redemption by coupon id.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client.js';
import { bearer, createCampaign, problemOf, rowCounts, useTestApp } from '../helpers/app.js';
import { ENGINES } from '../support/database.js';

describe.each(ENGINES)('redemption by code on %s', (engine) => {
  const t = useTestApp(engine);

  async function codesOf(campaignId: string, count: number): Promise<string[]> {
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaignId}/codes`,
      headers: bearer(t.adminToken),
      payload: { count },
    });
    if (response.statusCode !== 201) throw new Error(response.body);
    const rows = await queryRows<{ code: string }>(
      t.database.db,
      sql`SELECT code FROM coupons WHERE campaign_id = ${campaignId} ORDER BY code`,
    );
    return rows.map((row) => row.code);
  }

  const redeem = async (userId: string, code: string, extra: { key?: string; orderAmount?: number } = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/redemptions',
      headers: {
        ...bearer(await t.userToken(userId)),
        ...(extra.key ? { 'idempotency-key': extra.key } : {}),
      },
      payload: { code, orderId: `order-${userId}`, orderAmount: extra.orderAmount ?? 10_000 },
    });

  const validate = async (userId: string, code: string, orderAmount = 10_000) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/redemptions/validate',
      headers: bearer(await t.userToken(userId)),
      payload: { code, orderAmount },
    });

  const patch = (id: string, payload: Record<string, unknown>) =>
    t.app.inject({ method: 'PATCH', url: `/v1/campaigns/${id}`, headers: bearer(t.adminToken), payload });

  const statusCounts = (responses: { statusCode: number }[]) => {
    const counts: Record<number, number> = {};
    for (const r of responses) counts[r.statusCode] = (counts[r.statusCode] ?? 0) + 1;
    return counts;
  };

  it('redeems a unique code once when 100 users race for it', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 10 });
    const [code] = await codesOf(campaign.id, 1);
    const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => redeem(`racer-${i}`, code!)));
    expect(statusCounts(responses)).toEqual({ 201: 1, 409: 99 });
    expect(new Set(responses.filter((r) => r.statusCode === 409).map((r) => r.json().code))).toEqual(
      new Set(['already-redeemed']),
    );
    const [stored] = await queryRows<{ redemptions: number; status: string; user_id: string | null }>(
      t.database.db,
      sql`SELECT (SELECT count(*)::int FROM redemptions r WHERE r.coupon_id = c.id) AS redemptions, c.status, c.user_id
          FROM coupons c WHERE c.code = ${code!}`,
    );
    expect(stored).toEqual({ redemptions: 1, status: 'redeemed', user_id: null });
  });

  it('lets each of 50 users redeem a shared code once although each sends it twice at once', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 1000, perUserLimit: 1 });
    const code = `SHARE50-${engine}`;
    const put = await t.app.inject({
      method: 'PUT',
      url: `/v1/campaigns/${campaign.id}/shared-code`,
      headers: bearer(t.adminToken),
      payload: { code },
    });
    expect(put.statusCode).toBe(200);
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => redeem(`sharer-${i % 50}`, code)),
    );
    expect(statusCounts(responses)).toEqual({ 201: 50, 409: 50 });
    const [stored] = await queryRows<{ redemptions: number; users: number; coupons: number; issued: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS redemptions, count(DISTINCT r.user_id)::int AS users,
                 (SELECT count(*)::int FROM coupons WHERE campaign_id = ${campaign.id}) AS coupons,
                 (SELECT issued_count FROM campaigns WHERE id = ${campaign.id}) AS issued
          FROM redemptions r JOIN coupons c ON c.id = r.coupon_id WHERE c.campaign_id = ${campaign.id}`,
    );
    expect(stored).toEqual({ redemptions: 50, users: 50, coupons: 50, issued: 50 });
  });

  it('stops a shared code at its total', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 5 });
    const code = `TOTAL5-${engine}`;
    await t.app.inject({
      method: 'PUT',
      url: `/v1/campaigns/${campaign.id}/shared-code`,
      headers: bearer(t.adminToken),
      payload: { code },
    });
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => redeem(`total-${i}`, code)));
    expect(statusCounts(responses)).toEqual({ 201: 5, 409: 15 });
    expect(new Set(responses.filter((r) => r.statusCode === 409).map((r) => r.json().code))).toEqual(
      new Set(['sold-out']),
    );
  });

  it('rejects the codes of a suspended campaign and accepts them after resume', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 10 });
    const [first, second] = await codesOf(campaign.id, 2);
    expect((await patch(campaign.id, { status: 'suspended' })).statusCode).toBe(200);
    await t.userToken('paused'); // the user exists before the counting starts
    const before = await rowCounts(t.database);
    const rejected = problemOf(await redeem('paused', first!));
    expect(rejected).toMatchObject({ status: 409, body: { code: 'campaign-not-active' } });
    expect((await validate('paused', second!)).json()).toMatchObject({
      valid: false,
      reason: 'campaign-not-active',
    });
    expect(await rowCounts(t.database)).toEqual(before);
    expect((await patch(campaign.id, { status: 'active' })).statusCode).toBe(200);
    expect((await redeem('paused', first!)).statusCode).toBe(201);
    expect((await redeem('paused', second!)).statusCode).toBe(201);
  });

  it('validates a code with the discount it would give and changes nothing', async () => {
    const campaign = await createCampaign(t, {
      discount: { type: 'percent', percent: 10, maxAmount: 500 },
      minOrderAmount: 2_000,
    });
    const [code] = await codesOf(campaign.id, 1);
    await t.userToken('checker'); // the user exists before the counting starts
    const before = await rowCounts(t.database);
    expect((await validate('checker', code!, 3_000)).json()).toEqual({ valid: true, discountAmount: 300 });
    expect((await validate('checker', code!, 90_000)).json()).toEqual({ valid: true, discountAmount: 500 });
    expect((await validate('checker', code!, 1_000)).json()).toMatchObject({
      valid: false,
      reason: 'order-amount-too-low',
    });
    expect((await validate('checker', 'NOSUCHCODE')).json()).toMatchObject({
      valid: false,
      reason: 'not-found',
    });
    expect(await rowCounts(t.database)).toEqual(before);
    expect((await redeem('checker', code!, { orderAmount: 3_000 })).json()).toMatchObject({
      discountAmount: 300,
    });
  });

  it('answers 404 for an unknown code and 400 for a malformed one, writing nothing', async () => {
    await t.userToken('lost'); // the user exists before the counting starts
    const before = await rowCounts(t.database);
    expect(problemOf(await redeem('lost', 'NOSUCHCODE00000')).body.code).toBe('not-found');
    const malformed = problemOf(await redeem('lost', 'has space'));
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors?.[0]?.field).toBe('body/code');
    const both = await t.app.inject({
      method: 'POST',
      url: '/v1/redemptions',
      headers: bearer(await t.userToken('lost')),
      payload: {
        code: 'ABC',
        couponId: '00000000-0000-4000-8000-000000000000',
        orderId: 'o',
        orderAmount: 1,
      },
    });
    expect(problemOf(both).status).toBe(400);
    expect(await rowCounts(t.database)).toEqual(before);
  });

  it('replays a redemption by code sent again with the same Idempotency-Key', async () => {
    const campaign = await createCampaign(t);
    const [code] = await codesOf(campaign.id, 1);
    const first = await redeem('careful', code!, { key: `key-${engine}` });
    const again = await redeem('careful', code!, { key: `key-${engine}` });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    const other = await redeem('careful', code!, { key: `key-${engine}`, orderAmount: 5 });
    expect(problemOf(other).body.code).toBe('idempotency-key-reused');
  });

  it('hides the codes of a deleted campaign everywhere and shows them again after restore', async () => {
    const campaign = await createCampaign(t);
    const [code] = await codesOf(campaign.id, 1);
    const search = () =>
      t.app
        .inject({ url: `/v1/coupons?code=${code}`, headers: bearer(t.adminToken) })
        .then((r) => r.json().items);
    expect(await search()).toHaveLength(1);
    await t.app.inject({
      method: 'DELETE',
      url: `/v1/campaigns/${campaign.id}`,
      headers: bearer(t.adminToken),
    });
    expect(await search()).toHaveLength(0);
    expect(problemOf(await redeem('late', code!)).body.code).toBe('not-found');
    const restored = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaign.id}/restore`,
      headers: bearer(t.adminToken),
    });
    expect(restored.statusCode).toBe(200);
    expect(await search()).toHaveLength(1);
    expect((await redeem('late', code!)).statusCode).toBe(201);
  });

  it('refuses to restore a campaign deleted longer ago than ARCHIVE_AFTER', async () => {
    const campaign = await createCampaign(t);
    await t.app.inject({
      method: 'DELETE',
      url: `/v1/campaigns/${campaign.id}`,
      headers: bearer(t.adminToken),
    });
    await t.database.db.execute(
      sql`UPDATE campaigns SET deleted_at = now() - interval '181 days' WHERE id = ${campaign.id}`,
    );
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaign.id}/restore`,
      headers: bearer(t.adminToken),
    });
    expect(problemOf(response)).toMatchObject({ status: 409, body: { code: 'retention-expired' } });
    const live = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${(await createCampaign(t)).id}/restore`,
      headers: bearer(t.adminToken),
    });
    expect(problemOf(live).status).toBe(404);
  });
});
