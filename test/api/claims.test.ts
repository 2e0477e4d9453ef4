/**
 * The claim endpoint under concurrency, end to end through HTTP handling, on PostgreSQL and PGlite
 * with the configured (default) strategy. The strategy-level conformance suite covers every strategy.
 */
import { describe, expect, it } from 'vitest';
import { bearer, createCampaign, problemOf, testUserId, useTestApp } from '../helpers/app.js';
import { ENGINES } from '../support/database.js';

describe.each(ENGINES)('claims over HTTP on %s', (engine) => {
  const t = useTestApp(engine);

  const claim = (campaignId: string, token: string) =>
    t.app.inject({ method: 'POST', url: `/v1/campaigns/${campaignId}/claims`, headers: bearer(token) });

  it('answers 201 with the coupon and its Location for one claim', async () => {
    const campaign = await createCampaign(t);
    const response = await claim(campaign.id, await t.userToken('first'));
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({
      status: 'issued',
      coupon: { campaignId: campaign.id, userId: testUserId('first'), status: 'issued' },
    });
    expect(body.coupon.id).toBe(body.claimId);
    expect(response.headers.location).toBe(`/v1/claims/${body.claimId}`);
  });

  it('issues exactly 100 coupons to 1,000 users claiming at once, and issuedCount says 100', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 100 });
    const responses = await Promise.all(
      Array.from({ length: 1000 }, async (_, i) => claim(campaign.id, await t.userToken(`crowd-${i}`))),
    );
    expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(100);
    expect(
      responses.filter((r) => r.statusCode === 409 && problemOf(r).body.code === 'sold-out'),
    ).toHaveLength(900);
    const read = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${campaign.id}` });
    expect(read.json()).toMatchObject({ issuedCount: 100, remaining: 0 });
  });

  it.each([1, 3])(
    'gives one user sending 100 claims at once exactly %i coupon(s) (its limit)',
    async (limit) => {
      const campaign = await createCampaign(t, { perUserLimit: limit });
      const token = await t.userToken(`eager-${limit}`);
      const responses = await Promise.all(Array.from({ length: 100 }, () => claim(campaign.id, token)));
      expect(responses.filter((r) => r.statusCode === 201)).toHaveLength(limit);
      expect(responses.filter((r) => problemOf(r).body.code === 'already-claimed')).toHaveLength(100 - limit);
      const mine = await t.app.inject({ method: 'GET', url: '/v1/me/coupons', headers: bearer(token) });
      expect(
        mine.json().items.filter((c: { campaignId: string }) => c.campaignId === campaign.id),
      ).toHaveLength(limit);
    },
  );

  it('lets an admin claim for a shop user and list that user’s coupons', async () => {
    const campaign = await createCampaign(t);
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaign.id}/claims`,
      headers: bearer(t.adminToken),
      payload: { userId: 'shop-user-42' },
    });
    expect(response.json().coupon.userId).toBe('shop-user-42');
    const listed = await t.app.inject({
      method: 'GET',
      url: '/v1/me/coupons?userId=shop-user-42',
      headers: bearer(t.serviceToken),
    });
    expect(listed.json().items.map((c: { id: string }) => c.id)).toEqual([response.json().coupon.id]);
  });
});
