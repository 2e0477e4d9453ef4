/**
 * Tokens you can take back (issue "hardening", item 4): short access tokens with rotating refresh
 * tokens, and a token version checked on every request, so a role change, password change, disable
 * or delete of a user ends its tokens — at once in the process that made the change, within 5 s in
 * every other one. On both engines, plus a second process on PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { createSigner } from 'fast-jwt';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app/build-app.js';
import { setupToken } from '../../src/auth/setup.js';
import {
  bearer,
  campaignBody,
  createTestApp,
  problemOf,
  TEST_JWT_SECRET,
  type TestApp,
  testConfig,
  useTestApp,
} from '../helpers/app.js';
import { runStampede } from '../helpers/cli.js';
import { ENGINES } from '../support/database.js';

interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  refreshExpiresIn: number;
  user: { id: string; role: string };
}

/** Creates an account through the users API and signs it in. */
async function account(t: TestApp, role: 'admin' | 'service' | 'user'): Promise<Session & { email: string }> {
  const email = `${role}-${randomUUID()}@example.com`;
  const created = await t.app.inject({
    method: 'POST',
    url: '/v1/users',
    headers: bearer(t.adminToken),
    payload: { email, password: 'long-enough', role },
  });
  expect(created.statusCode).toBe(201);
  const login = await t.app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email, password: 'long-enough' },
  });
  expect(login.statusCode).toBe(200);
  return { ...(login.json() as Session), email };
}

const listUsers = (app: FastifyInstance, token: string) =>
  app.inject({ method: 'GET', url: '/v1/users?limit=1', headers: bearer(token) });

describe.each(ENGINES)('tokens on %s', (engine) => {
  const t = useTestApp(engine);

  const refresh = (refreshToken: string) =>
    t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });
  const changeUser = (id: string, payload: Record<string, unknown>) =>
    t.app.inject({ method: 'PATCH', url: `/v1/users/${id}`, headers: bearer(t.adminToken), payload });

  it('logs in with a 15-minute access token and a refresh token that rotates once', async () => {
    const session = await account(t, 'admin');
    expect(session).toMatchObject({ expiresIn: 900, refreshExpiresIn: 1_209_600, user: { role: 'admin' } });
    expect(session.refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);

    const next = await refresh(session.refreshToken);
    expect(next.statusCode).toBe(200);
    const renewed = next.json() as Session;
    expect(renewed.refreshToken).not.toBe(session.refreshToken);
    expect((await listUsers(t.app, renewed.accessToken)).statusCode).toBe(200);

    // The used token again: a copy is in other hands, so the whole session ends.
    expect(problemOf(await refresh(session.refreshToken))).toMatchObject({
      status: 401,
      body: { code: 'unauthorized' },
    });
    expect((await refresh(renewed.refreshToken)).statusCode).toBe(401);
  });

  it('lets exactly one of two concurrent refreshes with one token through', async () => {
    const session = await account(t, 'user');
    const answers = await Promise.all([refresh(session.refreshToken), refresh(session.refreshToken)]);
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 401]);
  });

  it('refuses a refresh token older than a change its revocation missed (a login or rotation racing it)', async () => {
    const session = await account(t, 'user');
    // What a racing login leaves: a token of the old version that the revoking statement did not see.
    await t.database.db.execute(
      sql`UPDATE users SET token_version = token_version + 1 WHERE id = ${session.user.id}`,
    );
    expect((await refresh(session.refreshToken)).statusCode).toBe(401);
  });

  it('treats a family with any revoked token as dead, so a token issued beside a revocation cannot refresh', async () => {
    const session = await account(t, 'user');
    const next = (await refresh(session.refreshToken)).json() as Session;
    // The revocation of a replayed token that did not see `next` (issued concurrently) still ends it.
    await t.database.db.execute(
      sql`UPDATE refresh_tokens SET revoked_at = now()
          WHERE user_id = ${session.user.id} AND used_at IS NOT NULL`,
    );
    expect((await refresh(next.refreshToken)).statusCode).toBe(401);
  });

  it('gives a pre-registered account no admin session when setup makes its email the first admin', async () => {
    const fresh = await createTestApp(engine, { fixturePrincipals: false });
    try {
      const email = `squatter-${randomUUID()}@example.com`;
      const signup = await fresh.app.inject({
        method: 'POST',
        url: '/v1/auth/signup',
        payload: { email, password: 'squatters-password' },
      });
      expect(signup.statusCode).toBe(201);
      const squatter = (
        await fresh.app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email, password: 'squatters-password' },
        })
      ).json() as Session;
      const setup = await fresh.app.inject({
        method: 'POST',
        url: '/v1/setup',
        payload: { token: setupToken(TEST_JWT_SECRET), email, password: 'the-operators-password' },
      });
      expect(setup.statusCode).toBe(201);
      const stolen = await fresh.app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refreshToken: squatter.refreshToken },
      });
      expect(stolen.statusCode).toBe(401);
      expect((await listUsers(fresh.app, squatter.accessToken)).statusCode).toBe(401);
    } finally {
      await fresh.close();
    }
  });

  it('ends a session at logout, and says 204 for a token it does not know', async () => {
    const session = await account(t, 'user');
    const logout = (refreshToken: string) =>
      t.app.inject({ method: 'POST', url: '/v1/auth/logout', payload: { refreshToken } });
    expect((await logout(session.refreshToken)).statusCode).toBe(204);
    expect((await refresh(session.refreshToken)).statusCode).toBe(401);
    expect((await logout(`rt_${'A'.repeat(43)}`)).statusCode).toBe(204);
    expect(problemOf(await logout('not a token!')).body.errors?.[0]?.field).toBe('body/refreshToken');
  });

  it.each([
    ['a role change', { role: 'service' }],
    ['a password change', { password: 'another-password' }],
    ['disabling', { disabled: true }],
  ])('takes the access and refresh tokens back at once after %s', async (_change, payload) => {
    const session = await account(t, 'admin');
    expect((await listUsers(t.app, session.accessToken)).statusCode).toBe(200);
    expect((await changeUser(session.user.id, payload)).statusCode).toBe(200);
    const refused = problemOf(await listUsers(t.app, session.accessToken));
    expect(refused).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    expect(refused.body.detail).toContain('revoked');
    expect((await refresh(session.refreshToken)).statusCode).toBe(401);
  });

  it('refuses the tokens of a deleted user, and of users that never existed', async () => {
    const session = await account(t, 'admin');
    const asIt = { method: 'GET' as const, url: '/v1/users?limit=1', headers: bearer(session.accessToken) };
    expect((await t.app.inject(asIt)).statusCode).toBe(200);
    const deleted = await t.app.inject({
      method: 'DELETE',
      url: `/v1/users/${session.user.id}`,
      headers: bearer(t.adminToken),
    });
    expect(deleted.statusCode).toBe(204);
    expect((await t.app.inject(asIt)).statusCode).toBe(401);
    expect((await refresh(session.refreshToken)).statusCode).toBe(401);

    const sign = createSigner({ key: TEST_JWT_SECRET, expiresIn: 60_000 });
    for (const claims of [
      { sub: randomUUID(), role: 'admin', ver: 0 }, // validly signed, nobody
      { sub: 'not-a-uuid', role: 'admin', ver: 0 },
      { sub: session.user.id, role: 'admin' }, // no version
    ]) {
      const response = await t.app.inject({ ...asIt, headers: bearer(sign(claims)) });
      expect(problemOf(response)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    }
  });

  it('lets requests racing a demotion finish either way, and refuses every request sent after it', async () => {
    const session = await account(t, 'admin');
    const create = () =>
      t.app.inject({
        method: 'POST',
        url: '/v1/campaigns',
        headers: bearer(session.accessToken),
        payload: campaignBody({ name: 'raced' }),
      });
    const racing = Array.from({ length: 40 }, create);
    const demoted = await changeUser(session.user.id, { role: 'user' });
    expect(demoted.statusCode).toBe(200);
    const after = await Promise.all(Array.from({ length: 20 }, create));
    const during = await Promise.all(racing);
    // In flight: authorized before the change (201) or refused after it (401); never a 5xx.
    for (const response of during) expect([201, 401]).toContain(response.statusCode);
    expect(after.map((response) => response.statusCode)).toEqual(Array(20).fill(401));
  });
});

describe('revocation reaching a second process (PostgreSQL, LISTEN/NOTIFY)', () => {
  let a: TestApp;
  let b: FastifyInstance;

  beforeAll(async () => {
    a = await createTestApp('postgres');
    b = await buildApp({ config: testConfig(), database: a.database });
    await b.ready();
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('refuses a disabled user in the other process within 5 s', async () => {
    const session = await account(a, 'admin');
    // The second process has checked, and so cached, the principal.
    expect((await listUsers(b, session.accessToken)).statusCode).toBe(200);
    const changedAt = Date.now();
    const disabled = await a.app.inject({
      method: 'PATCH',
      url: `/v1/users/${session.user.id}`,
      headers: bearer(a.adminToken),
      payload: { disabled: true },
    });
    expect(disabled.statusCode).toBe(200);
    let status = 200;
    while (status === 200 && Date.now() - changedAt < 5_000) {
      status = (await listUsers(b, session.accessToken)).statusCode;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status).toBe(401);
  });

  it('refuses the old tokens after `stampede users add` gives an existing account a new password', async () => {
    const session = await account(a, 'admin');
    expect((await listUsers(b, session.accessToken)).statusCode).toBe(200);
    const changedAt = Date.now();
    const cli = await runStampede(
      ['users', 'add', '--email', session.email, '--password', 'a-new-password', '--role', 'admin'],
      { DATABASE_URL: a.database.url, JWT_SECRET: TEST_JWT_SECRET },
    );
    expect(cli).toMatchObject({ code: 0, stdout: expect.stringContaining('updated admin') });
    let status = 200;
    while (status === 200 && Date.now() - changedAt < 5_000) {
      status = (await listUsers(b, session.accessToken)).statusCode;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status).toBe(401);
    expect(
      (
        await a.app.inject({
          method: 'POST',
          url: '/v1/auth/refresh',
          payload: { refreshToken: session.refreshToken },
        })
      ).statusCode,
    ).toBe(401);
  });
});
