/**
 * The first admin of an installation, without a second terminal.
 *
 * On a database without an enabled admin, `serve` either creates one from STAMPEDE_ADMIN_EMAIL /
 * STAMPEDE_ADMIN_PASSWORD, or prints a setup link carrying a one-time **setup token** (the idea of
 * Jenkins' initial admin password, https://www.jenkins.io/doc/book/installing/linux/#unlocking-jenkins):
 * `POST /v1/setup {token, email, password}` then creates the first admin, once.
 *
 * The token is derived from the JWT secret (HMAC-SHA256 of a fixed label), so every process of an
 * installation — cluster workers, replicas — prints and accepts the same one without storing it,
 * and it stops working as soon as an admin exists.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { hashPassword } from './passwords.js';
import { otherActiveAdminExists, type User, upsertUser } from './users.js';

const SETUP_LABEL = 'stampede first-admin setup v1';
/** Arbitrary constant naming the first-admin setup among advisory locks (see src/db/migrate.ts). */
const SETUP_LOCK_KEY = 7_361_021_002;

/** The setup token of the installation whose JWT secret is `jwtSecret`: 43 base64url characters. */
export function setupToken(jwtSecret: string): string {
  return createHmac('sha256', jwtSecret).update(SETUP_LABEL).digest('base64url');
}

/** True when `token` is the installation's setup token (compared in constant time). */
export function isSetupToken(jwtSecret: string, token: string): boolean {
  const expected = Buffer.from(setupToken(jwtSecret));
  const given = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** True when no enabled admin exists yet (the installation needs its first admin). */
export async function setupNeeded(db: Db): Promise<boolean> {
  return !(await otherActiveAdminExists(db));
}

/**
 * Creates the first admin (or makes an existing account with that email the admin), unless an
 * enabled admin already exists. Concurrent calls create one admin: they queue on an advisory lock
 * and the later ones find it.
 * @returns the admin, or undefined when one already existed.
 */
export async function createFirstAdmin(
  db: Db,
  input: { email: string; passwordHash: string },
): Promise<User | undefined> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${SETUP_LOCK_KEY})`);
    if (await otherActiveAdminExists(tx)) return undefined;
    const { user } = await upsertUser(tx, { ...input, role: 'admin' });
    return user;
  });
}

/** What {@link prepareFirstAdmin} found or did. */
export type FirstRun =
  | { state: 'ready' }
  | { state: 'created'; admin: User }
  | { state: 'needed'; token: string };

/**
 * At start: nothing when an enabled admin exists; otherwise creates it from `firstAdmin` when
 * both email and password are given, or returns the setup token to print.
 */
export async function prepareFirstAdmin(
  db: Db,
  options: { jwtSecret: string; firstAdmin: { email?: string | undefined; password?: string | undefined } },
): Promise<FirstRun> {
  if (!(await setupNeeded(db))) return { state: 'ready' };
  const { email, password } = options.firstAdmin;
  if (email !== undefined && password !== undefined) {
    const admin = await createFirstAdmin(db, { email, passwordHash: await hashPassword(password) });
    return admin ? { state: 'created', admin } : { state: 'ready' };
  }
  return { state: 'needed', token: setupToken(options.jwtSecret) };
}
