/**
 * Bad input gets a 4xx application/problem+json naming the field, and changes no row
 * (asserted by counting every table before and after), on PostgreSQL and PGlite.
 */
import { randomUUID } from 'node:crypto';
import { createDecoder, createSigner } from 'fast-jwt';
import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bearer,
  campaignBody,
  createCampaign,
  problemOf,
  rowCounts,
  TEST_JWT_SECRET,
  testUserId,
  useTestApp,
} from '../helpers/app.js';
import { ENGINES } from '../support/database.js';

describe.each(ENGINES)('bad input on %s', (engine) => {
  const t = useTestApp(engine);
  let campaignId: string;
  let couponId: string;

  beforeAll(async () => {
    campaignId = (await createCampaign(t, { totalQuantity: 5 })).id;
    const claim = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaignId}/claims`,
      headers: bearer(await t.userToken('owner')),
    });
    couponId = claim.json().coupon.id;
  });

  /** Sends a request and checks it is a problem of `status`/`code` that wrote nothing. */
  async function expectRejected(request: InjectOptions, status: number, code: string, field?: string) {
    const before = await rowCounts(t.database);
    const response = await t.app.inject(request);
    const problem = problemOf(response);
    expect(problem.status).toBe(status);
    expect(problem.contentType).toContain('application/problem+json');
    expect(problem.body.code).toBe(code);
    expect(problem.body.type).toBe(`https://stampede.dev/problems/${code}`);
    if (field) expect(problem.body.errors?.map((e) => e.field)).toContain(field);
    expect(JSON.stringify(problem.body)).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(await rowCounts(t.database)).toEqual(before);
    return problem.body;
  }

  const admin = () => ({ ...bearer(t.adminToken), 'content-type': 'application/json' });

  it('rejects malformed JSON', async () => {
    await expectRejected(
      { method: 'POST', url: '/v1/campaigns', headers: admin(), payload: '{"name": "x",' },
      400,
      'validation-failed',
      'body',
    );
  });

  it.each([
    ['zero stock', { totalQuantity: 0 }, 'body/totalQuantity'],
    ['negative stock', { totalQuantity: -5 }, 'body/totalQuantity'],
    ['stock as a string', { totalQuantity: '100' }, 'body/totalQuantity'],
    ['a fractional limit', { perUserLimit: 1.5 }, 'body/perUserLimit'],
    ['an unknown field', { colour: 'red' }, 'body'],
    ['a percent above 100', { discount: { type: 'percent', percent: 150 } }, 'body/discount/percent'],
    ['a malformed date', { startsAt: 'tomorrow' }, 'body/startsAt'],
    [
      'a window ending before it starts',
      { startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' },
      'body/endsAt',
    ],
    ['no name', { name: undefined }, 'body/name'],
    // Issue 12: these answered 500 (the database refused the instant).
    ['a leap second in startsAt', { startsAt: '2030-06-30T23:59:60Z' }, 'body/startsAt'],
    ['year 0000 in startsAt', { startsAt: '0000-01-01T00:00:00Z' }, 'body/startsAt'],
    ['month 13 in endsAt', { endsAt: '2030-13-01T00:00:00Z' }, 'body/endsAt'],
    ['February 30 in endsAt', { endsAt: '2030-02-30T00:00:00Z' }, 'body/endsAt'],
    // Read back through new Date(text), years below 0100 became 19xx/20xx.
    ['year 0001 in startsAt', { startsAt: '0001-01-01T00:00:00Z' }, 'body/startsAt'],
    [
      'an instant before year 0100 through its offset',
      { startsAt: '0100-01-01T00:00:00+01:00' },
      'body/startsAt',
    ],
    ['an instant after year 9999 through its offset', { endsAt: '9999-12-31T23:00:00-05:00' }, 'body/endsAt'],
    ['an hour 24', { endsAt: '2030-01-01T24:00:00Z' }, 'body/endsAt'],
    [
      'a leap second in couponValidity.until',
      { couponValidity: { until: '2030-06-30T23:59:60Z' } },
      'body/couponValidity/until',
    ],
  ])('rejects a campaign with %s', async (_label, overrides, field) => {
    await expectRejected(
      { method: 'POST', url: '/v1/campaigns', headers: admin(), payload: campaignBody(overrides) },
      400,
      'validation-failed',
      field,
    );
  });

  it('rejects a stock below the coupons already issued', async () => {
    await expectRejected(
      {
        method: 'PATCH',
        url: `/v1/campaigns/${campaignId}`,
        headers: admin(),
        payload: { totalQuantity: 0 },
      },
      400,
      'validation-failed',
      'body/totalQuantity',
    );
    const crowded = await createCampaign(t, { totalQuantity: 3 });
    for (const user of ['a', 'b']) {
      await t.app.inject({
        method: 'POST',
        url: `/v1/campaigns/${crowded.id}/claims`,
        headers: bearer(await t.userToken(user)),
      });
    }
    await expectRejected(
      {
        method: 'PATCH',
        url: `/v1/campaigns/${crowded.id}`,
        headers: admin(),
        payload: { totalQuantity: 1 },
      },
      400,
      'validation-failed',
      'body/totalQuantity',
    );
  });

  it('rejects a malformed id and answers not-found for unknown ids', async () => {
    await expectRejected(
      { method: 'POST', url: '/v1/campaigns/not-a-uuid/claims', headers: bearer(await t.userToken('u')) },
      400,
      'validation-failed',
      'params/id',
    );
    await expectRejected(
      {
        method: 'POST',
        url: `/v1/campaigns/${randomUUID()}/claims`,
        headers: bearer(await t.userToken('u')),
      },
      404,
      'not-found',
    );
    await expectRejected({ method: 'GET', url: `/v1/campaigns/${randomUUID()}` }, 404, 'not-found');
    await expectRejected(
      {
        method: 'POST',
        url: '/v1/redemptions',
        headers: bearer(await t.userToken('owner')),
        payload: { couponId: randomUUID(), orderId: 'o', orderAmount: 100 },
      },
      404,
      'not-found',
    );
    await expectRejected(
      { method: 'POST', url: `/v1/redemptions/${randomUUID()}/rollback`, headers: bearer(t.adminToken) },
      404,
      'not-found',
    );
  });

  it('rejects a redemption with a negative amount or a bad Idempotency-Key', async () => {
    const owner = bearer(await t.userToken('owner'));
    await expectRejected(
      {
        method: 'POST',
        url: '/v1/redemptions',
        headers: owner,
        payload: { couponId, orderId: 'o', orderAmount: -1 },
      },
      400,
      'validation-failed',
      'body/orderAmount',
    );
    await expectRejected(
      {
        method: 'POST',
        url: '/v1/redemptions',
        headers: { ...owner, 'idempotency-key': 'has spaces' },
        payload: { couponId, orderId: 'o', orderAmount: 1 },
      },
      400,
      'validation-failed',
      'headers/idempotency-key',
    );
  });

  it('rejects missing, malformed, expired, forged and never-expiring tokens', async () => {
    const claim = (headers: Record<string, string>) => ({
      method: 'POST' as const,
      url: `/v1/campaigns/${campaignId}/claims`,
      headers,
    });
    await expectRejected(claim({}), 401, 'unauthorized');
    await expectRejected(claim({ authorization: 'Bearer not.a.jwt' }), 401, 'unauthorized');
    await expectRejected(claim({ authorization: 'Basic dXNlcjpwYXNz' }), 401, 'unauthorized');
    const expired = createSigner({
      key: TEST_JWT_SECRET,
      expiresIn: 60_000,
      clockTimestamp: Date.now() - 3_600_000,
    })({ sub: 'late-user', role: 'user' });
    await expectRejected(claim(bearer(expired)), 401, 'unauthorized');
    const forged = createSigner({ key: 'another-secret-another-secret-another-secret' })({
      sub: 'x',
      role: 'admin',
    });
    await expectRejected(claim(bearer(forged)), 401, 'unauthorized');
    const unsigned = createSigner({ algorithm: 'none' })({ sub: 'x', role: 'admin' });
    await expectRejected(claim(bearer(unsigned)), 401, 'unauthorized');
    // Validly signed but without exp: it would never expire (issue 12).
    const eternal = createSigner({ key: TEST_JWT_SECRET })({ sub: 'x', role: 'admin' });
    await expectRejected(claim(bearer(eternal)), 401, 'unauthorized');
  });

  it('rejects a token that expires after it was accepted (the verifier cache ends at exp)', async () => {
    // exp is whole seconds: with a 2 s lifetime the token expires 1 to 2 s from now.
    await t.userToken('brief-user'); // creates the user (version 0) the token names
    const token = createSigner({ key: TEST_JWT_SECRET, expiresIn: 2_000 })({
      sub: testUserId('brief-user'),
      role: 'user',
      ver: 0,
    });
    const expiresAtMs = createDecoder()(token).exp * 1000;
    const myCoupons = { method: 'GET' as const, url: '/v1/me/coupons', headers: bearer(token) };
    expect((await t.app.inject(myCoupons)).statusCode).toBe(200);
    while (Date.now() <= expiresAtMs)
      await new Promise((resolve) => setTimeout(resolve, expiresAtMs + 1 - Date.now()));
    const problem = await expectRejected(myCoupons, 401, 'unauthorized');
    expect(problem.detail).toBe('the access token has expired');
  });

  it('forbids a user from claiming for another user and from admin operations', async () => {
    const user = bearer(await t.userToken('mallory'));
    await expectRejected(
      {
        method: 'POST',
        url: `/v1/campaigns/${campaignId}/claims`,
        headers: user,
        payload: { userId: 'alice' },
      },
      403,
      'forbidden',
    );
    await expectRejected(
      { method: 'POST', url: '/v1/campaigns', headers: user, payload: campaignBody() },
      403,
      'forbidden',
    );
    await expectRejected(
      {
        method: 'PATCH',
        url: `/v1/campaigns/${campaignId}`,
        headers: user,
        payload: { status: 'suspended' },
      },
      403,
      'forbidden',
    );
    await expectRejected(
      { method: 'DELETE', url: `/v1/campaigns/${campaignId}`, headers: user },
      403,
      'forbidden',
    );
  });

  it('rejects a non-JSON body and an unknown route', async () => {
    await expectRejected(
      {
        method: 'POST',
        url: '/v1/campaigns',
        headers: { ...bearer(t.adminToken), 'content-type': 'text/plain' },
        payload: 'hello',
      },
      415,
      'unsupported-media-type',
    );
    await expectRejected({ method: 'GET', url: '/v1/nothing-here' }, 404, 'not-found');
  });

  it('rejects a malformed cursor', async () => {
    await expectRejected(
      { method: 'GET', url: '/v1/campaigns?cursor=bm90LWEtY3Vyc29y' },
      400,
      'validation-failed',
      'querystring/cursor',
    );
  });

  describe('issue 12: inputs that answered 500', () => {
    const NUL = 'x\u0000y';
    /** A cursor in the format encodeCursor writes, holding an impossible timestamp. */
    const cursorAt = (at: string) => Buffer.from(JSON.stringify([at, randomUUID()])).toString('base64url');

    it.each([
      ['9999-99-99 99:99:99+99'],
      ['2026-13-01 00:00:00+00'],
      ['2026-02-30 00:00:00+00'],
      ['0000-01-01 00:00:00+00'],
      ['2026-01-01 24:00:00+00'],
      ['2026-01-01 00:00:00+99'],
    ])('rejects the well-shaped but impossible cursor %s on every paged route', async (at) => {
      const cursor = cursorAt(at);
      for (const [url, headers] of [
        ['/v1/campaigns', {}],
        ['/v1/coupons', bearer(t.adminToken)],
        ['/v1/me/coupons', bearer(await t.userToken('owner'))],
      ] as const) {
        await expectRejected(
          { method: 'GET', url: `${url}?cursor=${cursor}`, headers },
          400,
          'validation-failed',
          'querystring/cursor',
        );
      }
    });

    it('rejects a path that is not valid percent-encoding or has a too long parameter (found by properties.test.ts)', async () => {
      for (const url of ['/v1/campaigns/%E0%A4%A', `/v1/campaigns/${'x'.repeat(300)}`]) {
        await expectRejected({ method: 'GET', url }, 400, 'validation-failed', 'params');
      }
    });

    it('rejects a NUL byte in a campaign name on create and on change', async () => {
      await expectRejected(
        { method: 'POST', url: '/v1/campaigns', headers: admin(), payload: campaignBody({ name: NUL }) },
        400,
        'validation-failed',
        'body/name',
      );
      await expectRejected(
        { method: 'PATCH', url: `/v1/campaigns/${campaignId}`, headers: admin(), payload: { name: NUL } },
        400,
        'validation-failed',
        'body/name',
      );
    });

    it('rejects a NUL byte in the userId of a claim', async () => {
      await expectRejected(
        {
          method: 'POST',
          url: `/v1/campaigns/${campaignId}/claims`,
          headers: admin(),
          payload: { userId: NUL },
        },
        400,
        'validation-failed',
        'body/userId',
      );
    });

    it.each([
      ['orderId', { orderId: NUL }],
      ['userId', { userId: NUL }],
    ])('rejects a NUL byte in the %s of a redemption', async (field, overrides) => {
      await expectRejected(
        {
          method: 'POST',
          url: '/v1/redemptions',
          headers: admin(),
          payload: { couponId, orderId: 'o', orderAmount: 100, userId: 'owner', ...overrides },
        },
        400,
        'validation-failed',
        `body/${field}`,
      );
    });

    it.each([
      ['/v1/coupons?code=x%00y', 'querystring/code'],
      ['/v1/coupons?userId=x%00y', 'querystring/userId'],
      ['/v1/me/coupons?userId=x%00y', 'querystring/userId'],
      ['/v1/archive/coupons?code=x%00y', 'querystring/code'],
      ['/v1/coupons?issuedFrom=2030-06-30T23:59:60Z', 'querystring/issuedFrom'],
      ['/v1/coupons?issuedTo=0000-01-01T00:00:00Z', 'querystring/issuedTo'],
    ])('rejects %s', async (url, field) => {
      await expectRejected(
        { method: 'GET', url, headers: bearer(t.adminToken) },
        400,
        'validation-failed',
        field,
      );
    });

    it('rejects a leap second in a changed endsAt', async () => {
      await expectRejected(
        {
          method: 'PATCH',
          url: `/v1/campaigns/${campaignId}`,
          headers: admin(),
          payload: { endsAt: '2030-06-30T23:59:60Z' },
        },
        400,
        'validation-failed',
        'body/endsAt',
      );
    });

    it('accepts the edges of the range: years 0100 and 9999, lower-case T and Z, offsets', async () => {
      const campaign = await createCampaign(t, {
        status: 'draft',
        startsAt: '0100-01-01T00:00:00Z',
        endsAt: '9999-12-31T23:59:59.999Z',
      });
      expect(campaign.startsAt).toBe('0100-01-01T00:00:00.000Z');
      expect(campaign.endsAt).toBe('9999-12-31T23:59:59.999Z');
      const shifted = await createCampaign(t, { status: 'draft', startsAt: '2030-01-01t09:00:00+09:00' });
      expect(shifted.startsAt).toBe('2030-01-01T00:00:00.000Z');
    });
  });

  it('rejects an invalid status transition with 409', async () => {
    const ended = await createCampaign(t);
    await t.app.inject({
      method: 'PATCH',
      url: `/v1/campaigns/${ended.id}`,
      headers: admin(),
      payload: { status: 'ended' },
    });
    await expectRejected(
      { method: 'PATCH', url: `/v1/campaigns/${ended.id}`, headers: admin(), payload: { status: 'active' } },
      409,
      'invalid-transition',
    );
  });
});
