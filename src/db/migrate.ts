/**
 * Applies the committed SQL migrations in `drizzle/` (the same files on PostgreSQL and PGlite).
 *
 * On PostgreSQL the run holds a session advisory lock, so several processes starting together
 * (`serve --workers N`, many API pods) apply each migration exactly once.
 */
import { fileURLToPath } from 'node:url';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgliteDatabase } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { Database } from './client.js';

/** The folder of committed migrations; src/db and dist/db are both two levels below the root. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Arbitrary constant naming Stampede's migration lock among advisory locks. */
const MIGRATION_LOCK_KEY = 7_214_530_001;

/** Brings the schema up to date; a no-op when it already is. */
export async function runMigrations(database: Database): Promise<void> {
  if (!database.pool) {
    await migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder: MIGRATIONS_FOLDER });
    return;
  }
  const client = await database.pool.connect();
  try {
    // Notices such as "schema already exists, skipping" are noise at every start.
    await client.query('SET client_min_messages = warning');
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await migrateNodePg(drizzleNodePg({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    client.release();
  }
}
