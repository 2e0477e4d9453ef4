/** Campaign and account routes over HTTP on PostgreSQL and PGlite. */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.js';
import { findUserByEmail, upsertUser } from '../../src/auth/users.js';
import { bearer, createCampaign, problemOf, useTestApp } from '../helpers/app.js';
import { ENGINES } from '../support/database.js';

describe.each(ENGINES)('campaigns and accounts on %s', (engine) => {
  const t = useTestApp(engine);

  const patch = (id: string, payload: Record<string, unknown>) =>
    t.app.inject({ method: 'PATCH', url: `/v1/campaigns/${id}`, headers: bearer(t.adminToken), payload });

  it('creates a campaign with issued and remaining counts and the given discount and validity', async () => {
    const campaign = await createCampaign(t, {
      totalQuantity: 50,
      perUserLimit: 2,
      discount: { type: 'percent', percent: 15, maxAmount: 2000 },
      couponValidity: { seconds: 3600, until: '2099-01-01T00:00:00.000Z' },
      minOrderAmount: 1000,
    });
    expect(campaign).toMatchObject({
      name: 'Flash sale',
      status: 'active',
      totalQuantity: 50,
      perUserLimit: 2,
      issuedCount: 0,
      remaining: 50,
      discount: { type: 'percent', percent: 15, maxAmount: 2000 },
      couponValidity: { seconds: 3600, until: '2099-01-01T00:00:00.000Z' },
      minOrderAmount: 1000,
    });
    await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaign.id}/claims`,
      headers: bearer(await t.userToken('counted')),
    });
    const read = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${campaign.id}` });
    expect(read.json()).toMatchObject({ issuedCount: 1, remaining: 49 });
  });

  it('creates drafts by default and hides them from everyone but admins', async () => {
    const draft = await createCampaign(t, { status: undefined });
    expect(draft.status).toBe('draft');
    const anonymous = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${draft.id}` });
    expect(anonymous.statusCode).toBe(404);
    const asUser = await t.app.inject({
      method: 'GET',
      url: `/v1/campaigns/${draft.id}`,
      headers: bearer(await t.userToken('curious')),
    });
    expect(asUser.statusCode).toBe(404);
    const asAdmin = await t.app.inject({
      method: 'GET',
      url: `/v1/campaigns/${draft.id}`,
      headers: bearer(t.adminToken),
    });
    expect(asAdmin.json().status).toBe('draft');
  });

  it('suspends, resumes and ends a campaign, and refuses to reopen an ended one', async () => {
    const { id } = await createCampaign(t);
    expect((await patch(id, { status: 'suspended' })).json().status).toBe('suspended');
    expect((await patch(id, { status: 'suspended' })).json().status).toBe('suspended');
    expect((await patch(id, { status: 'active' })).json().status).toBe('active');
    expect((await patch(id, { status: 'ended' })).json().status).toBe('ended');
    expect(problemOf(await patch(id, { status: 'active' })).body.code).toBe('invalid-transition');
  });

  it('changes the stock and the window', async () => {
    const { id } = await createCampaign(t, { totalQuantity: 10 });
    const changed = await patch(id, {
      totalQuantity: 25,
      startsAt: '2030-01-01T00:00:00.000Z',
      endsAt: '2030-01-02T00:00:00.000Z',
    });
    expect(changed.json()).toMatchObject({
      totalQuantity: 25,
      remaining: 25,
      startsAt: '2030-01-01T00:00:00.000Z',
      endsAt: '2030-01-02T00:00:00.000Z',
    });
    const claim = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${id}/claims`,
      headers: bearer(await t.userToken('too-early')),
    });
    expect(problemOf(claim).body.code).toBe('campaign-not-active');
    expect((await patch(id, { startsAt: null, endsAt: null })).json()).toMatchObject({
      startsAt: null,
      endsAt: null,
    });
  });

  it('soft-deletes a campaign: it disappears from reads, lists and claims', async () => {
    const { id } = await createCampaign(t);
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/v1/campaigns/${id}`,
      headers: bearer(t.adminToken),
    });
    expect(deleted.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/v1/campaigns/${id}` })).statusCode).toBe(404);
    const list = await t.app.inject({
      method: 'GET',
      url: '/v1/campaigns?limit=200',
      headers: bearer(t.adminToken),
    });
    expect(list.json().items.map((c: { id: string }) => c.id)).not.toContain(id);
    const again = await t.app.inject({
      method: 'DELETE',
      url: `/v1/campaigns/${id}`,
      headers: bearer(t.adminToken),
    });
    expect(again.statusCode).toBe(404);
  });

  it('pages through campaigns with a cursor, newest first, without repeats', async () => {
    for (let i = 0; i < 5; i++) await createCampaign(t, { name: `page-${i}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const page = await t.app.inject({ method: 'GET', url: `/v1/campaigns?limit=2${query}` });
      const body = page.json() as { items: { id: string; createdAt: string }[]; nextCursor: string | null };
      seen.push(...body.items.map((c) => c.id));
      cursor = body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(5);
  });

  it('pages campaigns and coupons that share a millisecond without skipping or repeating one', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await createCampaign(t, { name: `same-ms-${i}` })).id);
    for (const [i, id] of ids.entries()) {
      // Four rows inside one millisecond, microseconds apart; a millisecond cursor would skip some.
      await t.database.db.execute(
        sql`UPDATE campaigns SET created_at = ${`2099-01-01 00:00:00.12345${i}+00`}::timestamptz WHERE id = ${id}`,
      );
      await t.app.inject({
        method: 'POST',
        url: `/v1/campaigns/${id}/claims`,
        headers: bearer(await t.userToken('same-ms')),
      });
    }
    await t.database.db.execute(
      sql`UPDATE coupons SET issued_at = created.at FROM (SELECT id, created_at AS at FROM campaigns) created
          WHERE coupons.campaign_id = created.id AND coupons.user_id = 'same-ms'`,
    );
    async function pageAll(url: string, headers: Record<string, string>) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const response = await t.app.inject({
          method: 'GET',
          url: `${url}${cursor ? `&cursor=${cursor}` : ''}`,
          headers,
        });
        const body = response.json() as { items: { id: string }[]; nextCursor: string | null };
        seen.push(...body.items.map((item) => item.id));
        cursor = body.nextCursor;
      } while (cursor);
      return seen;
    }
    const campaignsSeen = await pageAll('/v1/campaigns?limit=1', {});
    expect(campaignsSeen.slice(0, 4)).toEqual([...ids].reverse());
    expect(new Set(campaignsSeen).size).toBe(campaignsSeen.length);
    const couponsSeen = await pageAll('/v1/me/coupons?limit=1', bearer(await t.userToken('same-ms')));
    expect(couponsSeen).toHaveLength(4);
    expect(new Set(couponsSeen).size).toBe(4);
  });

  it('signs up, logs in and uses the token; a duplicate email or a wrong password is refused', async () => {
    const credentials = { email: 'Shopper@Example.com', password: 'correct horse' };
    const signup = await t.app.inject({ method: 'POST', url: '/v1/auth/signup', payload: credentials });
    expect(signup.statusCode).toBe(201);
    expect(signup.json()).toMatchObject({ email: 'shopper@example.com', role: 'user' });
    const duplicate = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/signup',
      payload: { ...credentials, email: 'shopper@example.com' },
    });
    expect(problemOf(duplicate)).toMatchObject({ status: 409, body: { code: 'email-taken' } });
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { ...credentials, password: 'wrong password' },
    });
    expect(problemOf(wrong)).toMatchObject({ status: 401, body: { code: 'invalid-credentials' } });
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'nobody@example.com', password: 'whatever1' },
    });
    expect(problemOf(unknown)).toMatchObject({ status: 401, body: { code: 'invalid-credentials' } });
    const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: credentials });
    expect(login.statusCode).toBe(200);
    const { accessToken, tokenType, user } = login.json();
    expect(tokenType).toBe('Bearer');
    const mine = await t.app.inject({ method: 'GET', url: '/v1/me/coupons', headers: bearer(accessToken) });
    expect(mine.json()).toEqual({ items: [], nextCursor: null });
    const campaign = await createCampaign(t);
    const claim = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaign.id}/claims`,
      headers: bearer(accessToken),
    });
    expect(claim.json().coupon.userId).toBe(user.id);
  });

  it('stores passwords as Argon2id hashes and upserts users idempotently', async () => {
    const first = await upsertUser(t.database.db, {
      email: 'ops@example.com',
      passwordHash: await hashPassword('first-password'),
      role: 'admin',
    });
    const second = await upsertUser(t.database.db, {
      email: 'OPS@example.com',
      passwordHash: await hashPassword('second-password'),
      role: 'admin',
    });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.user.id).toBe(first.user.id);
    const stored = await findUserByEmail(t.database.db, 'ops@example.com');
    expect(stored?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const login = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'ops@example.com', password: 'second-password' },
    });
    expect(login.json().user.role).toBe('admin');
  });

  it('serves health, readiness and the OpenAPI document with every route', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).json()).toMatchObject({
      checks: { database: 'ok' },
    });
    const openapi = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        '/v1/campaigns',
        '/v1/campaigns/{id}',
        '/v1/campaigns/{id}/claims',
        '/v1/me/coupons',
        '/v1/redemptions',
        '/v1/redemptions/{id}/rollback',
        '/v1/auth/signup',
        '/v1/auth/login',
      ]),
    );
    expect((await t.app.inject({ method: 'GET', url: '/docs/' })).statusCode).toBe(200);
  });
});
