/**
 * Users repository: plain functions taking the database (or a transaction) first.
 * Emails are stored trimmed and lower-cased, so lookups are case-insensitive.
 */
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { users } from '../db/schema.js';
import type { Role } from '../http/auth.js';

export interface User {
  id: string;
  email: string;
  role: Role;
  passwordHash: string;
  createdAt: Date;
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
      set: { passwordHash: input.passwordHash, role: input.role },
    })
    .returning({
      id: users.id,
      email: users.email,
      passwordHash: users.passwordHash,
      role: users.role,
      createdAt: users.createdAt,
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
