/**
 * Guessing codes is not free (issue 12, item 3), on PostgreSQL: codes that do not exist are counted
 * per user and per client IP, past a limit answered 429 + Retry-After and counted in the metrics,
 * while codes that exist never count; code generation refuses
 * code spaces under 10^6 × the count; shared codes have a minimum length.
 */
import { describe, expect, it } from 'vitest';
import { bearer, createCampaign, problemOf, useTestApp } from '../helpers/app.js';
import { sampleValue } from '../helpers/prometheus.js';

describe('guessing codes', () => {
  const t = useTestApp('postgres', {
    config: { codeAttemptLimit: { max: 5, ipMax: 12, windowMs: 60_000 } },
  });

  /** A validation (default) or redemption naming `body`'s code, from client address `ip`. */
  const attempt = async (
    user: string,
    body: Record<string, unknown>,
    path = '/v1/redemptions/validate',
    ip = '127.0.0.1',
  ) =>
    t.app.inject({
      method: 'POST',
      url: path,
      remoteAddress: ip,
      headers: bearer(await t.userToken(user)),
      payload: { orderAmount: 5000, ...(path.endsWith('validate') ? {} : { orderId: 'o-1' }), ...body },
    });

  it('throttles a user guessing codes after 5 attempts, with Retry-After, and counts it', async () => {
    const rateLimited = async (route: string) =>
      sampleValue(
        (await t.app.inject({ method: 'GET', url: '/metrics' })).body,
        'stampede_rate_limited_requests_total',
        {
          route,
        },
      );
    const before = (await rateLimited('/v1/redemptions')) + (await rateLimited('/v1/redemptions/validate'));
    const answers = [];
    for (let i = 0; i < 8; i++) {
      answers.push(await attempt('guesser', { code: `WRONG${i}XYZ` }, i % 2 ? '/v1/redemptions' : undefined));
    }
    expect(answers.slice(0, 5).map((r) => r.statusCode)).toEqual([200, 404, 200, 404, 200]);
    for (const throttled of answers.slice(5)) {
      expect(problemOf(throttled)).toMatchObject({ status: 429, body: { code: 'rate-limited' } });
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    const after = (await rateLimited('/v1/redemptions')) + (await rateLimited('/v1/redemptions/validate'));
    expect(after - before).toBe(3);
    // Another user is not held back by this one's guesses.
    expect((await attempt('bystander', { code: 'WRONGCODE1' })).statusCode).toBe(200);
  });

  it('throttles guesses from one IP spread over many users', async () => {
    const statuses = [];
    // Two attempts per user stays under the per-user limit (5); the IP limit (12) counts them all.
    for (let i = 0; i < 13; i++) {
      statuses.push((await attempt(`spread-${i >> 1}`, { code: `SPREAD${i}X` })).statusCode);
    }
    expect(statuses).toContain(429);
  });

  it('does not count redemptions by coupon id (nothing to guess)', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 10 });
    const claim = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaign.id}/claims`,
      headers: bearer(await t.userToken('holder')),
    });
    const couponId = claim.json().coupon.id as string;
    for (let i = 0; i < 7; i++) {
      expect((await attempt('holder', { couponId })).statusCode).toBe(200);
    }
  });

  it('never counts codes that exist: a shopper validating and redeeming 8 real codes is not held back', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 20, perUserLimit: 10 });
    const generated = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaign.id}/codes`,
      headers: bearer(t.adminToken),
      payload: { count: 8 },
    });
    expect(generated.statusCode).toBe(201);
    const listed = await t.app.inject({
      method: 'GET',
      url: `/v1/coupons?campaignId=${campaign.id}&limit=50`,
      headers: bearer(t.adminToken),
    });
    const codes = (listed.json() as { items: { code: string | null }[] }).items.map((c) => c.code!);
    expect(codes).toHaveLength(8);
    // 16 requests naming real codes (limit 5), from an address of their own (the IP limit is 12):
    // each validation answers valid, each redemption 201.
    const ip = '10.0.0.8';
    for (const code of codes) {
      expect((await attempt('collector', { code }, undefined, ip)).json()).toMatchObject({ valid: true });
      expect((await attempt('collector', { code }, '/v1/redemptions', ip)).statusCode).toBe(201);
    }
    // Misses still count for the same user: 5 are answered, the 6th is refused.
    const misses = [];
    for (let i = 0; i < 6; i++) {
      misses.push((await attempt('collector', { code: `MISSED${i}XYZ` }, undefined, ip)).statusCode);
    }
    expect(misses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('refuses a code space smaller than 10^6 × the count, and says so', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 100 });
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaign.id}/codes`,
      headers: bearer(t.adminToken),
      payload: { count: 10, length: 6, charset: '0123456789' },
    });
    const problem = problemOf(response);
    expect(problem).toMatchObject({ status: 400, body: { code: 'validation-failed' } });
    expect(problem.body.errors).toEqual([{ field: 'body/length', message: expect.stringContaining('10^6') }]);
  });

  it('refuses a shared code shorter than 8 characters', async () => {
    const campaign = await createCampaign(t);
    const response = await t.app.inject({
      method: 'PUT',
      url: `/v1/campaigns/${campaign.id}/shared-code`,
      headers: bearer(t.adminToken),
      payload: { code: 'SAVE10' },
    });
    expect(problemOf(response).body.errors?.map((e) => e.field)).toContain('body/code');
  });
});
