/**
 * The first admin (setup token, STAMPEDE_ADMIN_EMAIL) and the admin users API, on both engines.
 */
import { describe, expect, it } from 'vitest';
import { prepareFirstAdmin, setupToken } from '../../src/auth/setup.js';
import { bearer, problemOf, TEST_JWT_SECRET, useTestApp } from '../helpers/app.js';
import { ENGINES } from '../support/database.js';

describe.each(ENGINES)('users on %s', (engine) => {
  // No fixture admin: these tests start from an installation that needs its first admin, and then
  // act as the admin they create.
  const t = useTestApp(engine, { fixturePrincipals: false });
  let rootEmail = '';

  const login = (email: string, password: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
  const setup = (payload: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: '/v1/setup', payload });
  const needed = async () =>
    ((await t.app.inject({ method: 'GET', url: '/v1/setup' })).json() as { needed: boolean }).needed;
  /** Headers of the first admin, signed in (the first test creates it). */
  const asRoot = async () => bearer((await login(rootEmail, 'long-enough')).json().accessToken);

  it('creates the first admin once with the setup token, and only with it', async () => {
    expect(await needed()).toBe(true);
    const first = await prepareFirstAdmin(t.database.db, { jwtSecret: TEST_JWT_SECRET, firstAdmin: {} });
    expect(first).toEqual({ state: 'needed', token: setupToken(TEST_JWT_SECRET) });

    const wrong = await setup({ token: 'x'.repeat(43), email: 'root@example.com', password: 'long-enough' });
    expect(problemOf(wrong)).toMatchObject({ status: 403, body: { code: 'invalid-setup-token' } });
    expect(await needed()).toBe(true);

    // Two at once with the right token: exactly one admin is created.
    const token = setupToken(TEST_JWT_SECRET);
    const [a, b] = await Promise.all([
      setup({ token, email: 'root@example.com', password: 'long-enough' }),
      setup({ token, email: 'other@example.com', password: 'long-enough' }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([201, 409]);
    const created = a.statusCode === 201 ? a : b;
    expect(created.json()).toMatchObject({ role: 'admin', disabled: false });
    rootEmail = created.json().email;
    expect(await needed()).toBe(false);

    const again = await setup({ token, email: 'late@example.com', password: 'long-enough' });
    expect(problemOf(again)).toMatchObject({ status: 409, body: { code: 'setup-done' } });
    expect((await login(created.json().email, 'long-enough')).statusCode).toBe(200);
    expect(await prepareFirstAdmin(t.database.db, { jwtSecret: TEST_JWT_SECRET, firstAdmin: {} })).toEqual({
      state: 'ready',
    });
  });

  it('refuses non-admins and validates bodies naming the field', async () => {
    await t.app.inject({
      method: 'POST',
      url: '/v1/users',
      headers: await asRoot(),
      payload: { email: 'backend@example.com', password: 'backend-password', role: 'service' },
    });
    const asService = await t.app.inject({
      method: 'GET',
      url: '/v1/users',
      headers: bearer((await login('backend@example.com', 'backend-password')).json().accessToken),
    });
    expect(asService.statusCode).toBe(403);
    const anonymous = await t.app.inject({ method: 'GET', url: '/v1/users' });
    expect(anonymous.statusCode).toBe(401);
    const bad = await t.app.inject({
      method: 'POST',
      url: '/v1/users',
      headers: await asRoot(),
      payload: { email: 'x@example.com', password: 'short', role: 'admin' },
    });
    expect(problemOf(bad)).toMatchObject({ status: 400, body: { code: 'validation-failed' } });
    expect(problemOf(bad).body.errors?.[0]?.field).toBe('body/password');
  });

  it('creates, lists, changes, disables and deletes accounts', async () => {
    const headers = await asRoot();
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/users',
      headers,
      payload: { email: 'Shop@Example.com', password: 'shop-password', role: 'service' },
    });
    expect(created.statusCode).toBe(201);
    const shop = created.json() as { id: string; email: string; role: string };
    expect(shop).toMatchObject({ email: 'shop@example.com', role: 'service' });
    const duplicate = await t.app.inject({
      method: 'POST',
      url: '/v1/users',
      headers,
      payload: { email: 'shop@example.com', password: 'shop-password', role: 'user' },
    });
    expect(problemOf(duplicate)).toMatchObject({ status: 409, body: { code: 'email-taken' } });

    const page = await t.app.inject({ method: 'GET', url: '/v1/users?role=service&limit=1', headers });
    expect(page.json()).toMatchObject({ items: [{ id: shop.id, role: 'service' }] });
    const next = await t.app.inject({
      method: 'GET',
      url: `/v1/users?role=service&limit=1&cursor=${page.json().nextCursor}`,
      headers,
    });
    // The older service account, created by the previous test.
    expect(next.json()).toMatchObject({ items: [{ email: 'backend@example.com', role: 'service' }] });

    const patch = (payload: Record<string, unknown>) =>
      t.app.inject({ method: 'PATCH', url: `/v1/users/${shop.id}`, headers, payload });
    expect((await patch({ role: 'user', password: 'new-password' })).json()).toMatchObject({ role: 'user' });
    expect((await login('shop@example.com', 'shop-password')).statusCode).toBe(401);
    expect((await login('shop@example.com', 'new-password')).statusCode).toBe(200);

    expect((await patch({ disabled: true })).json()).toMatchObject({ disabled: true });
    expect(problemOf(await login('shop@example.com', 'new-password'))).toMatchObject({
      status: 403,
      body: { code: 'account-disabled' },
    });
    expect((await patch({ disabled: false })).json()).toMatchObject({ disabled: false });
    expect((await login('shop@example.com', 'new-password')).statusCode).toBe(200);

    const removed = await t.app.inject({ method: 'DELETE', url: `/v1/users/${shop.id}`, headers });
    expect(removed.statusCode).toBe(204);
    expect((await login('shop@example.com', 'new-password')).statusCode).toBe(401);
    const gone = await t.app.inject({ method: 'DELETE', url: `/v1/users/${shop.id}`, headers });
    expect(gone.statusCode).toBe(404);
  });

  it('never removes, disables or demotes the last enabled admin', async () => {
    const headers = await asRoot();
    const list = await t.app.inject({ method: 'GET', url: '/v1/users?role=admin', headers });
    const admins = (list.json() as { items: { id: string; disabled: boolean }[] }).items.filter(
      (u) => !u.disabled,
    );
    expect(admins).toHaveLength(1);
    const only = admins[0]!.id;
    for (const request of [
      { method: 'PATCH' as const, payload: { role: 'user' } },
      { method: 'PATCH' as const, payload: { disabled: true } },
      { method: 'DELETE' as const },
    ]) {
      const response = await t.app.inject({ ...request, url: `/v1/users/${only}`, headers });
      expect(problemOf(response)).toMatchObject({ status: 409, body: { code: 'last-admin' } });
    }
    // With a second admin, the first may step down.
    const second = await t.app.inject({
      method: 'POST',
      url: '/v1/users',
      headers,
      payload: { email: 'second@example.com', password: 'second-admin', role: 'admin' },
    });
    expect(second.statusCode).toBe(201);
    const demoted = await t.app.inject({
      method: 'PATCH',
      url: `/v1/users/${only}`,
      headers,
      payload: { role: 'user' },
    });
    expect(demoted.json()).toMatchObject({ role: 'user' });
  });

  it('creates the first admin from STAMPEDE_ADMIN_EMAIL/PASSWORD only when none is enabled', async () => {
    const result = await prepareFirstAdmin(t.database.db, {
      jwtSecret: TEST_JWT_SECRET,
      firstAdmin: { email: 'env@example.com', password: 'from-the-env' },
    });
    // The previous test left an enabled admin (second@example.com).
    expect(result).toEqual({ state: 'ready' });
    expect((await login('env@example.com', 'from-the-env')).statusCode).toBe(401);
  });
});

describe('first admin from the environment', () => {
  const t = useTestApp('pglite', { fixturePrincipals: false });
  it('is created on an empty database and can log in', async () => {
    const result = await prepareFirstAdmin(t.database.db, {
      jwtSecret: TEST_JWT_SECRET,
      firstAdmin: { email: 'env@example.com', password: 'from-the-env' },
    });
    expect(result).toMatchObject({ state: 'created', admin: { email: 'env@example.com', role: 'admin' } });
    const login = await t.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'env@example.com', password: 'from-the-env' },
    });
    expect(login.json()).toMatchObject({ user: { role: 'admin' } });
  });
});

describe('setup routes', () => {
  const t = useTestApp('pglite');
  it('answer one address 20 times a minute, then 429 with Retry-After', async () => {
    const answers = [];
    for (let i = 0; i < 21; i++) answers.push(await t.app.inject({ method: 'GET', url: '/v1/setup' }));
    expect(answers.slice(0, 20).every((response) => response.statusCode === 200)).toBe(true);
    expect(problemOf(answers[20]!)).toMatchObject({ status: 429, body: { code: 'rate-limited' } });
    expect(Number(answers[20]!.headers['retry-after'])).toBeGreaterThan(0);
  });
});
