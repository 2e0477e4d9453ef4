/**
 * Opens the system-of-record database: PostgreSQL through node-postgres when a URL is given,
 * otherwise embedded PGlite (PostgreSQL compiled to WASM) in a data directory or in memory.
 *
 * Both engines are driven through the same Drizzle `Db` type and the same SQL, so every
 * repository function runs unchanged on either.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import { RELAY_PORT } from './relay.js';
import * as schema from './schema.js';

/** A Drizzle handle on either engine; a transaction handle has the same type. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export type Engine = 'postgres' | 'pglite';

export interface Database {
  db: Db;
  engine: Engine;
  /** The node-postgres pool (PostgreSQL only), for work that needs one dedicated connection. */
  pool: pg.Pool | undefined;
  /** The PGlite instance when this process runs the embedded database itself. */
  pglite?: PGlite | undefined;
  /** Throws when the database does not answer `SELECT 1`. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL URL; absent = PGlite. */
  url?: string | undefined;
  /** PGlite data directory; absent (with no url) = in memory. */
  dataDir?: string | undefined;
  /** PostgreSQL pool size (connections). */
  poolSize?: number;
  /** PostgreSQL statement_timeout, ms. */
  statementTimeoutMs?: number;
}

/**
 * PGlite's buffer cache. PostgreSQL's default (128MB) lives in the WebAssembly memory of this
 * process; 32MB holds an embedded deployment's hot pages (campaign rows, the coupon indexes of a
 * running sale) and cuts about 130 MB of resident memory: an idle `serve` went from 863 to
 * 720–736 MB VmRSS (`/proc/<pid>/status`).
 */
const PGLITE_SHARED_BUFFERS = '32MB';

/** Longest wait for a new PostgreSQL connection, ms. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Opens a database; the caller owns it and must `close()` it. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 20,
      statement_timeout: options.statementTimeoutMs ?? 5000,
      // Without it a connection to an address that drops packets waits for the OS (minutes).
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      application_name: 'stampede',
    });
    return { ...poolDatabase(pool), engine: 'postgres', pool };
  }
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const client = await PGlite.create(options.dataDir ?? 'memory://', {
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`],
  });
  const db = drizzlePglite({ client, schema }) as unknown as Db;
  return {
    db,
    engine: 'pglite',
    pool: undefined,
    pglite: client,
    ping: async () => {
      await client.query('SELECT 1');
    },
    close: () => client.close(),
  };
}

/**
 * Opens the embedded database of `dataDir` through the relay socket of the server that holds it
 * (src/db/relay.ts): node-postgres on the Unix socket `<dataDir>/.s.PGSQL.5432`, a few
 * connections, no statement timeout (the relay's start-up ignores session parameters).
 */
export async function openRelayDatabase(dataDir: string): Promise<Database> {
  const pool = new pg.Pool({
    host: dataDir,
    port: RELAY_PORT,
    user: 'postgres',
    database: 'postgres',
    max: 4,
  });
  // The pool is not exposed: its connections share the server's one PGlite session.
  return { ...poolDatabase(pool), engine: 'pglite', pool: undefined };
}

/** Drizzle, ping and close over a node-postgres pool. */
function poolDatabase(pool: pg.Pool): Pick<Database, 'db' | 'ping' | 'close'> {
  // An idle client that errors (server restart) must not crash the process: the pool drops it.
  pool.on('error', () => {});
  return {
    db: drizzleNodePg({ client: pool, schema }) as unknown as Db,
    ping: async () => {
      await pool.query('SELECT 1');
    },
    close: () => pool.end(),
  };
}

/** Runs a raw SQL query and returns its rows (the same shape on both engines). */
export async function queryRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/**
 * A timestamp from a raw-SQL row as a Date. Through Drizzle's `execute`, both drivers return
 * timestamptz columns as PostgreSQL text (`2026-11-22 05:38:07.123+00`), which Date parses.
 */
export function asDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

export function asDateOrNull(value: Date | string | null): Date | null {
  return value === null ? null : asDate(value);
}

/** PostgreSQL error fields the domain code inspects (SQLSTATE and constraint name). */
export interface PgErrorFields {
  code?: string;
  constraint?: string;
}

/** The PostgreSQL error behind a thrown value, unwrapping Drizzle's query wrapper; undefined if none. */
export function pgError(error: unknown): PgErrorFields | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const fields = current as PgErrorFields & { cause?: unknown };
    if (typeof fields.code === 'string' && /^[0-9A-Z]{5}$/.test(fields.code)) return fields;
    current = fields.cause;
  }
  return undefined;
}

/** SQLSTATE codes used by the domain code. */
export const SQLSTATE = {
  uniqueViolation: '23505',
  checkViolation: '23514',
  foreignKeyViolation: '23503',
  invalidTextRepresentation: '22P02',
} as const;
