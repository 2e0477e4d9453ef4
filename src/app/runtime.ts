/**
 * Opens what every Stampede process needs: the configuration with its JWT secret and the
 * migrated database. The caller closes it (`close()`) in a `finally`.
 */
import type { Config } from '../config.js';
import { type Database, openDatabase } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { connectionFailure, SettingError } from '../errors.js';
import { resolveJwtSecret } from './jwt-secret.js';

export interface Runtime {
  config: Config & { jwtSecret: string };
  database: Database;
  close(): Promise<void>;
}

/**
 * Opens the database named by `config` (PostgreSQL or PGlite in `dataDir`) and migrates it.
 * @throws SettingError naming DATABASE_URL when PostgreSQL cannot be reached (refused, unknown
 *   host, timeout, authentication), or DATA_DIR when the embedded database cannot be opened.
 */
export async function openRuntime(config: Config, options: { migrate?: boolean } = {}): Promise<Runtime> {
  const withSecret = resolveJwtSecret(config);
  let database: Database;
  try {
    database = await openDatabase({
      url: config.databaseUrl,
      dataDir: config.databaseUrl ? undefined : config.dataDir,
      poolSize: config.dbPoolSize,
      statementTimeoutMs: config.dbStatementTimeoutMs,
    });
  } catch (error) {
    throw databaseError(error, config, true);
  }
  try {
    if (options.migrate !== false) await runMigrations(database);
    else await database.ping();
  } catch (error) {
    await database.close().catch(() => {});
    throw databaseError(error, config, false);
  }
  return { config: withSecret, database, close: () => database.close() };
}

/**
 * `error` as a SettingError naming the setting to fix when it is a connection failure (or, for
 * the embedded database, a failure to open its directory); otherwise `error` itself.
 */
function databaseError(error: unknown, config: Config, opening: boolean): unknown {
  if (error instanceof SettingError) return error;
  if (config.databaseUrl) {
    const reason = connectionFailure(error);
    if (!reason) return error;
    return new SettingError(
      'DATABASE_URL',
      `cannot reach PostgreSQL at DATABASE_URL (${describeUrl(config.databaseUrl)}): ${reason}`,
      { cause: error },
    );
  }
  if (!opening) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new SettingError(
    'DATA_DIR',
    `cannot open the embedded database in DATA_DIR (${config.dataDir}): ${detail}`,
    { cause: error },
  );
}

/** `host:port/database` of a PostgreSQL URL, without the credentials. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'unparseable URL';
  }
}
