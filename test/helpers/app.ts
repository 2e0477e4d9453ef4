/**
 * Builds the real Stampede app on a test database, with tokens for an admin, a service and users.
 *
 * Tokens must name real, enabled users with the token version they carry (src/auth/principals.ts),
 * so the fixture admin and service are rows of the test database, and `userToken(name)` creates
 * the user `name` stands for on first use.
 */
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { FastifyInstance, FastifyServerOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { buildApp } from '../../src/app/build-app.js';
import { type Config, loadConfig } from '../../src/config.js';
import { type Db, type Engine, queryRows } from '../../src/db/client.js';
import { isUuid } from '../../src/db/ids.js';
import { users } from '../../src/db/schema.js';
import type { IssuanceStrategy } from '../../src/issuance/strategies/types.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-0123456789';

/** A configuration for tests: defaults, a fixed JWT secret, no claim rate limit or load shedding, and `overrides`. */
export function testConfig(overrides: Partial<Config> = {}): Config & { jwtSecret: string } {
  return {
    ...loadConfig({}),
    jwtSecret: TEST_JWT_SECRET,
    // Suites that fire many claims per user test the strategies, not the rate limit, and on a
    // busy 2-core machine PGlite's bursts would trip load shedding; their own tests
    // (test/observability/) turn them on.
    claimRateLimit: { max: 0, windowMs: 10_000 },
    codeAttemptLimit: { max: 0, ipMax: 0, windowMs: 60_000 },
    loginFailureLimit: { max: 0, ipMax: 0, windowMs: 60_000 },
    signupRateLimit: { max: 0, windowMs: 60_000 },
    loadShedding: { maxEventLoopDelayMs: 0, sampleIntervalMs: 500, retryAfterSeconds: 2 },
    ...overrides,
  } as Config & { jwtSecret: string };
}

export interface TestApp {
  app: FastifyInstance;
  database: TestDatabase;
  /** A token of the fixture admin (absent with `fixturePrincipals: false`). */
  adminToken: string;
  /** A token of the fixture service account (absent with `fixturePrincipals: false`). */
  serviceToken: string;
  /**
   * A user token for the user `name` stands for (see {@link testUserId}), created in the database
   * on first use.
   */
  userToken(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * The user id a test's name for a user stands for: the name itself when it is a UUID, else a UUID
 * derived from it (the same for the same name), so tests can say `userToken('alice')` and compare
 * coupons' `userId` with `testUserId('alice')`.
 */
export function testUserId(name: string): string {
  if (isUuid(name)) return name.toLowerCase();
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Inserts the user `id` with `role` unless it exists; returns its token version. Tests only. */
export async function ensureUser(db: Db, id: string, role: 'admin' | 'service' | 'user'): Promise<number> {
  await db
    .insert(users)
    .values({ id, role, email: `${id}@test.invalid`, passwordHash: 'not a password hash' })
    .onConflictDoNothing();
  const rows = await db.select({ tokenVersion: users.tokenVersion }).from(users).where(sql`id = ${id}`);
  return rows[0]!.tokenVersion;
}

/** The fixture admin and service accounts of every test app. */
export const TEST_ADMIN_ID = '00000000-0000-4000-8000-00000000a001';
export const TEST_SERVICE_ID = '00000000-0000-4000-8000-00000000a002';

export async function createTestApp(
  engine: Engine,
  options: {
    config?: Partial<Config>;
    issuance?: (database: TestDatabase) => IssuanceStrategy;
    logger?: FastifyServerOptions['logger'];
    /**
     * false: no fixture admin and service rows (for tests of the first-run setup, which needs a
     * database without an admin); `adminToken` and `serviceToken` are then empty.
     */
    fixturePrincipals?: boolean;
  } = {},
): Promise<TestApp> {
  const database = await createTestDatabase(engine);
  const app = await buildApp({
    config: testConfig(options.config),
    database,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.issuance ? { issuance: options.issuance(database) } : {}),
  });
  await app.ready();
  const { db } = database;
  const tokenOf = async (sub: string, role: 'admin' | 'service' | 'user') =>
    app.tokens.sign({ sub, role, ver: await ensureUser(db, sub, role) });
  const fixtures = options.fixturePrincipals !== false;
  const userTokens = new Map<string, Promise<string>>();
  return {
    app,
    database,
    adminToken: fixtures ? await tokenOf(TEST_ADMIN_ID, 'admin') : '',
    serviceToken: fixtures ? await tokenOf(TEST_SERVICE_ID, 'service') : '',
    userToken: (name) => {
      let token = userTokens.get(name);
      if (!token) {
        token = tokenOf(testUserId(name), 'user');
        userTokens.set(name, token);
      }
      return token;
    },
    close: async () => {
      await app.close();
      await database.close();
    },
  };
}

/**
 * A test app for the enclosing `describe` block (or file): built before its first test and closed,
 * database included, after its last one, so no test file repeats the set-up and tear-down (the
 * model is fastify/demo's `test/helper.ts`, https://github.com/fastify/demo). The returned object
 * is filled in by the `beforeAll` hook: read its fields inside tests and hooks, not at collection.
 */
export function useTestApp(engine: Engine, options: Parameters<typeof createTestApp>[1] = {}): TestApp {
  const holder = {} as TestApp;
  beforeAll(async () => {
    Object.assign(holder, await createTestApp(engine, options));
  });
  afterAll(async () => {
    await holder.close?.();
  });
  return holder;
}

/** `Authorization` header for a token. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A valid campaign body; `overrides` replace fields. */
export function campaignBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'Flash sale',
    totalQuantity: 100,
    perUserLimit: 1,
    status: 'active',
    discount: { type: 'fixed', amount: 1000 },
    couponValidity: { seconds: 86_400 },
    ...overrides,
  };
}

/** Creates a campaign through the API as admin and returns its JSON. */
export async function createCampaign(t: TestApp, overrides: Record<string, unknown> = {}) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/campaigns',
    headers: bearer(t.adminToken),
    payload: campaignBody(overrides),
  });
  if (response.statusCode !== 201) throw new Error(`campaign creation failed: ${response.body}`);
  return response.json() as { id: string; [key: string]: unknown };
}

/** The status, media type and parsed body of a problem response. */
export function problemOf(response: LightMyRequestResponse) {
  return {
    contentType: response.headers['content-type'],
    status: response.statusCode,
    body: response.json() as { code: string; type: string; detail: string; errors?: { field: string }[] },
  };
}

/** Row counts of the tables a bad request must not change, plus the campaigns' summed issued_count. */
export async function rowCounts(database: TestDatabase): Promise<Record<string, number>> {
  const rows = await queryRows<Record<string, number>>(
    database.db,
    sql`SELECT (SELECT count(*)::int FROM users) AS users,
               (SELECT count(*)::int FROM campaigns) AS campaigns,
               (SELECT coalesce(sum(issued_count), 0)::int FROM campaigns) AS issued_count,
               (SELECT count(*)::int FROM coupons) AS coupons,
               (SELECT count(*)::int FROM redemptions) AS redemptions,
               (SELECT count(*)::int FROM idempotency_keys) AS idempotency_keys,
               (SELECT count(*)::int FROM webhook_endpoints) AS webhook_endpoints,
               (SELECT count(*)::int FROM webhook_events) AS webhook_events`,
  );
  return rows[0]!;
}
