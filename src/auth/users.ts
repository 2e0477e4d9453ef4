/**
 * Users repository: plain functions taking the database (or a transaction) first.
 * Emails are stored trimmed and lower-cased, so lookups are case-insensitive.
 */
import { and, desc, eq, getTableColumns, isNull, ne, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client.js';
import type { KeysetPosition } from '../db/keyset.js';
import { users } from '../db/schema.js';
import type { Role } from '../http/auth.js';

export interface User {
  id: string;
  email: string;
  role: Role;
  passwordHash: string;
  createdAt: Date;
  /** When an admin disabled the account (it can no longer log in); null while enabled. */
  disabledAt: Date | null;
  /** The version access tokens must carry (`ver`); bumped by every change that revokes tokens. */
  tokenVersion: number;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function toUser(row: typeof users.$inferSelect): User {
  return { ...row, role: row.role as Role };
}

/** Inserts a user; returns undefined when the email is already registered. */
export async function insertUser(
  db: Db,
  input: { email: string; passwordHash: string; role: Role },
): Promise<User | undefined> {
  const rows = await db
    .insert(users)
    .values({ ...input, email: normalizeEmail(input.email) })
    .onConflictDoNothing({ target: users.email })
    .returning();
  return rows[0] && toUser(rows[0]);
}

/** Creates the user or, if the email exists, sets its password and role (idempotent). */
export async function upsertUser(
  db: Db,
  input: { email: string; passwordHash: string; role: Role },
): Promise<{ user: User; created: boolean }> {
  const rows = await db
    .insert(users)
    .values({ ...input, email: normalizeEmail(input.email) })
    .onConflictDoUpdate({
      target: users.email,
      // A new password or role takes back the tokens issued before it.
      set: {
        passwordHash: input.passwordHash,
        role: input.role,
        tokenVersion: sql`${users.tokenVersion} + 1`,
      },
    })
    .returning({
      id: users.id,
      email: users.email,
      passwordHash: users.passwordHash,
      role: users.role,
      createdAt: users.createdAt,
      disabledAt: users.disabledAt,
      tokenVersion: users.tokenVersion,
      // xmax is 0 for a freshly inserted row version and non-zero for an updated one.
      created: sql<boolean>`(xmax = 0)`,
    });
  const { created, ...user } = rows[0]!;
  return { user: toUser(user), created };
}

export async function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  const rows = await db
    .select()
    .from(users)
    .where(eq(users.email, normalizeEmail(email)))
    .limit(1);
  return rows[0] && toUser(rows[0]);
}

export async function findUserById(db: Db, id: string): Promise<User | undefined> {
  const rows = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return rows[0] && toUser(rows[0]);
}

/**
 * Up to `limit` users, newest first by (created_at, id), strictly after `after`, and the position
 * of the last one when the page is full.
 */
export async function listUsers(
  db: Db,
  options: { limit: number; after?: KeysetPosition | undefined; role?: Role | undefined },
): Promise<{ items: User[]; next: KeysetPosition | null }> {
  const { limit, after, role } = options;
  const rows = await db
    .select({ ...getTableColumns(users), cursorAt: sql<string>`${users.createdAt}::text` })
    .from(users)
    .where(
      and(
        role ? eq(users.role, role) : undefined,
        after
          ? sql`(${users.createdAt}, ${users.id}) < (${after.at}::timestamptz, ${after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(desc(users.createdAt), desc(users.id))
    .limit(limit);
  const last = rows.length === limit ? rows[rows.length - 1] : undefined;
  return {
    items: rows.map(({ cursorAt: _, ...row }) => toUser(row)),
    next: last ? { at: last.cursorAt, id: last.id } : null,
  };
}

/** True when an enabled admin other than `exceptId` exists. */
export async function otherActiveAdminExists(db: Db, exceptId?: string): Promise<boolean> {
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(
      and(eq(users.role, 'admin'), isNull(users.disabledAt), exceptId ? ne(users.id, exceptId) : undefined),
    )
    .limit(1);
  return rows.length > 0;
}

export interface UserChanges {
  role?: Role | undefined;
  passwordHash?: string | undefined;
  /** true disables (now), false enables. */
  disabled?: boolean | undefined;
}

/**
 * Applies `changes`; returns the updated user, or undefined for an unknown id. Any change bumps
 * `token_version`, so the tokens issued before it stop working (src/auth/principals.ts).
 */
export async function updateUser(db: Db, id: string, changes: UserChanges): Promise<User | undefined> {
  const set: PgUpdateSetSource<typeof users> = {};
  if (changes.role !== undefined) set.role = changes.role;
  if (changes.passwordHash !== undefined) set.passwordHash = changes.passwordHash;
  if (changes.disabled !== undefined) set.disabledAt = changes.disabled ? new Date() : null;
  if (Object.keys(set).length === 0) return findUserById(db, id);
  set.tokenVersion = sql`${users.tokenVersion} + 1`;
  const rows = await db.update(users).set(set).where(eq(users.id, id)).returning();
  return rows[0] && toUser(rows[0]);
}

/** Deletes a user; returns false for an unknown id. Their coupons keep the user id they were issued to. */
export async function deleteUser(db: Db, id: string): Promise<boolean> {
  const rows = await db.delete(users).where(eq(users.id, id)).returning({ id: users.id });
  return rows.length === 1;
}
