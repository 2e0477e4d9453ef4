/**
 * Redemption over HTTP on PostgreSQL and PGlite: discount, at-most-once under concurrency,
 * Idempotency-Key semantics, rollback, expiry and campaign status.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client.js';
import { bearer, createCampaign, problemOf, rowCounts, testUserId, useTestApp } from '../helpers/app.js';
import { ENGINES } from '../support/database.js';

describe.each(ENGINES)('redemptions on %s', (engine) => {
  const t = useTestApp(engine);
  let userSeq = 0;

  /** A fresh user with one coupon of a new campaign; returns the user's token and the coupon id. */
  async function userWithCoupon(campaignOverrides: Record<string, unknown> = {}) {
    const name = `shopper-${++userSeq}`;
    const token = await t.userToken(name);
    const userId = testUserId(name);
    const campaign = await createCampaign(t, campaignOverrides);
    const claim = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaign.id}/claims`,
      headers: bearer(token),
    });
    expect(claim.statusCode).toBe(201);
    return { userId, token, campaignId: campaign.id, couponId: claim.json().coupon.id as string };
  }

  const redeem = (token: string, payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/v1/redemptions',
      headers: { ...bearer(token), ...headers },
      payload,
    });

  it('redeems an issued coupon and returns the fixed discount, capped at the order amount', async () => {
    const { token, couponId } = await userWithCoupon({ discount: { type: 'fixed', amount: 1000 } });
    const response = await redeem(token, { couponId, orderId: 'order-1', orderAmount: 600 });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({
      couponId,
      orderId: 'order-1',
      orderAmount: 600,
      discountAmount: 600,
    });
    const coupons = await t.app.inject({ method: 'GET', url: '/v1/me/coupons', headers: bearer(token) });
    expect(coupons.json().items[0]).toMatchObject({ id: couponId, status: 'redeemed' });
  });

  it('applies a percent discount with its maximum', async () => {
    const { token, couponId } = await userWithCoupon({
      discount: { type: 'percent', percent: 10, maxAmount: 500 },
    });
    const response = await redeem(token, { couponId, orderId: 'order-2', orderAmount: 8000 });
    expect(response.json().discountAmount).toBe(500);
  });

  it('lets exactly one of 100 concurrent redemptions of one coupon succeed', async () => {
    const { token, couponId } = await userWithCoupon();
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        redeem(token, { couponId, orderId: `race-${i}`, orderAmount: 5000 }),
      ),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(
      responses.filter((r) => r.statusCode === 409 && r.json().code === 'already-redeemed'),
    ).toHaveLength(99);
    const rows = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM redemptions WHERE coupon_id = ${couponId}`,
    );
    expect(rows[0]!.n).toBe(1);
  });

  it('replays the stored response for a repeated Idempotency-Key', async () => {
    const { token, couponId } = await userWithCoupon();
    const payload = { couponId, orderId: 'order-idem', orderAmount: 5000 };
    const first = await redeem(token, payload, { 'idempotency-key': 'key-replay' });
    const again = await redeem(token, payload, { 'idempotency-key': 'key-replay' });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(first.headers['idempotent-replayed']).toBe('false');
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('replays a stored problem too, without redeeming again', async () => {
    const { token, couponId } = await userWithCoupon();
    await redeem(token, { couponId, orderId: 'first', orderAmount: 5000 });
    const payload = { couponId, orderId: 'second', orderAmount: 5000 };
    const failed = await redeem(token, payload, { 'idempotency-key': 'key-problem' });
    const replay = await redeem(token, payload, { 'idempotency-key': 'key-problem' });
    expect(failed.statusCode).toBe(409);
    expect(replay.statusCode).toBe(409);
    expect(replay.json()).toEqual(failed.json());
    expect(replay.headers['content-type']).toContain('application/problem+json');
  });

  it('rejects the same Idempotency-Key with another payload with 422 and changes nothing', async () => {
    const { token, couponId } = await userWithCoupon();
    await redeem(token, { couponId, orderId: 'a', orderAmount: 5000 }, { 'idempotency-key': 'key-reused' });
    const before = await rowCounts(t.database);
    const reused = await redeem(
      token,
      { couponId, orderId: 'b', orderAmount: 5000 },
      { 'idempotency-key': 'key-reused' },
    );
    expect(problemOf(reused)).toMatchObject({ status: 422, body: { code: 'idempotency-key-reused' } });
    expect(await rowCounts(t.database)).toEqual(before);
  });

  it('answers 409 while the first request with the key is still in flight', async () => {
    const { userId, token, couponId } = await userWithCoupon();
    const payload = { couponId, orderId: 'slow', orderAmount: 5000 };
    // The first request has taken the key and not finished: exactly what its row looks like meanwhile.
    const first = await redeem(token, payload, { 'idempotency-key': 'key-in-flight-probe' });
    expect(first.statusCode).toBe(201);
    await t.database.db.execute(
      sql`UPDATE idempotency_keys SET response_status = NULL, response_body = NULL, locked_at = now()
          WHERE principal = ${userId} AND key = 'key-in-flight-probe'`,
    );
    const second = await redeem(token, payload, { 'idempotency-key': 'key-in-flight-probe' });
    expect(problemOf(second)).toMatchObject({ status: 409, body: { code: 'idempotency-key-in-use' } });
  });

  it('rolls a redemption back so the coupon can be redeemed again, once', async () => {
    const { token, couponId } = await userWithCoupon();
    const first = await redeem(token, { couponId, orderId: 'r1', orderAmount: 5000 });
    const rollback = await t.app.inject({
      method: 'POST',
      url: `/v1/redemptions/${first.json().id}/rollback`,
      headers: bearer(t.serviceToken),
    });
    expect(rollback.statusCode).toBe(200);
    expect(rollback.json()).toMatchObject({ status: 'rolled_back' });
    const again = await redeem(token, { couponId, orderId: 'r2', orderAmount: 5000 });
    expect(again.statusCode).toBe(201);
    const twice = await t.app.inject({
      method: 'POST',
      url: `/v1/redemptions/${first.json().id}/rollback`,
      headers: bearer(t.adminToken),
    });
    expect(problemOf(twice)).toMatchObject({ status: 409, body: { code: 'already-rolled-back' } });
  });

  it('does not let a user roll back a redemption', async () => {
    const { token, couponId } = await userWithCoupon();
    const first = await redeem(token, { couponId, orderId: 'r', orderAmount: 5000 });
    const rollback = await t.app.inject({
      method: 'POST',
      url: `/v1/redemptions/${first.json().id}/rollback`,
      headers: bearer(token),
    });
    expect(problemOf(rollback)).toMatchObject({ status: 403, body: { code: 'forbidden' } });
  });

  it('refuses an expired coupon', async () => {
    const { token, couponId } = await userWithCoupon();
    await t.database.db.execute(
      sql`UPDATE coupons SET expires_at = now() - interval '1 minute' WHERE id = ${couponId}`,
    );
    const response = await redeem(token, { couponId, orderId: 'late', orderAmount: 5000 });
    expect(problemOf(response)).toMatchObject({ status: 409, body: { code: 'coupon-expired' } });
    const coupons = await t.app.inject({ method: 'GET', url: '/v1/me/coupons', headers: bearer(token) });
    expect(coupons.json().items[0].status).toBe('expired');
  });

  it('refuses redemptions while the campaign is suspended and accepts them after resume', async () => {
    const { token, couponId, campaignId } = await userWithCoupon();
    const patch = (status: string) =>
      t.app.inject({
        method: 'PATCH',
        url: `/v1/campaigns/${campaignId}`,
        headers: bearer(t.adminToken),
        payload: { status },
      });
    await patch('suspended');
    const refused = await redeem(token, { couponId, orderId: 'o', orderAmount: 5000 });
    expect(problemOf(refused)).toMatchObject({ status: 409, body: { code: 'campaign-not-active' } });
    await patch('active');
    expect((await redeem(token, { couponId, orderId: 'o', orderAmount: 5000 })).statusCode).toBe(201);
  });

  it('keeps coupons redeemable after the campaign has ended', async () => {
    const { token, couponId, campaignId } = await userWithCoupon();
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/campaigns/${campaignId}`,
      headers: bearer(t.adminToken),
      payload: { status: 'ended' },
    });
    expect((await redeem(token, { couponId, orderId: 'o', orderAmount: 5000 })).statusCode).toBe(201);
  });

  it('refuses an order below the minimum amount', async () => {
    const { token, couponId } = await userWithCoupon({ minOrderAmount: 10_000 });
    const response = await redeem(token, { couponId, orderId: 'small', orderAmount: 9_999 });
    expect(problemOf(response)).toMatchObject({ status: 422, body: { code: 'order-amount-too-low' } });
  });

  it("reports another user's coupon as not found and a user acting for another as forbidden", async () => {
    const owner = await userWithCoupon();
    const other = await t.userToken('someone-else');
    const before = await rowCounts(t.database);
    const stolen = await redeem(other, { couponId: owner.couponId, orderId: 'x', orderAmount: 5000 });
    expect(problemOf(stolen)).toMatchObject({ status: 404, body: { code: 'not-found' } });
    const impersonating = await redeem(other, {
      couponId: owner.couponId,
      orderId: 'x',
      orderAmount: 5000,
      userId: owner.userId,
    });
    expect(problemOf(impersonating)).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect(await rowCounts(t.database)).toEqual(before);
  });

  it('lets a service principal redeem for a shop user', async () => {
    const { userId, couponId } = await userWithCoupon();
    const response = await redeem(t.serviceToken, { couponId, orderId: 'shop-1', orderAmount: 5000, userId });
    expect(response.statusCode).toBe(201);
    expect(response.json().userId).toBe(userId);
  });
});
