/**
 * Test databases. Each test file gets its own namespace: a fresh PostgreSQL database created on
 * the real server (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test) and dropped
 * afterwards, or a fresh in-memory PGlite. When PostgreSQL cannot be reached the test fails: it
 * is never skipped.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Database, type Engine, openDatabase } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';

export const ENGINES: readonly Engine[] = ['postgres', 'pglite'];

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A URL for database `name` on the server of `server` (default: the test server). */
export function databaseUrl(name: string, server = TEST_DATABASE_URL): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Runs one statement (CREATE/DROP DATABASE) on its own connection to `server` (default: the test
 * server), for tests and benchmarks.
 * @throws Error naming the server when it cannot be reached within 5 s, or the statement's error.
 */
export async function adminQuery(text: string, server = TEST_DATABASE_URL): Promise<void> {
  const client = new pg.Client({ connectionString: server, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${server}: ${(error as Error).message}`);
  }
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export interface TestDatabase extends Database {
  /** PostgreSQL URL of this test's database (undefined for PGlite). */
  url: string | undefined;
}

/** A migrated, empty database of `engine`; `close()` also drops it. */
export async function createTestDatabase(
  engine: Engine,
  options: { poolSize?: number } = {},
): Promise<TestDatabase> {
  if (engine === 'pglite') {
    const database = await openDatabase({});
    await runMigrations(database);
    return { ...database, url: undefined };
  }
  const name = `stampede_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = databaseUrl(name);
  const database = await openDatabase({ url, poolSize: options.poolSize ?? 20, statementTimeoutMs: 30_000 });
  await runMigrations(database);
  return {
    ...database,
    url,
    close: async () => {
      await database.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
