/**
 * Opens what every Stampede process needs: the configuration with its JWT secret and the
 * migrated database. The caller closes it (`close()`) in a `finally`.
 */
import type { Config } from '../config.js';
import { type Database, openDatabase } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { resolveJwtSecret } from './jwt-secret.js';

export interface Runtime {
  config: Config & { jwtSecret: string };
  database: Database;
  close(): Promise<void>;
}

/** Opens the database named by `config` (PostgreSQL or PGlite in `dataDir`) and migrates it. */
export async function openRuntime(config: Config, options: { migrate?: boolean } = {}): Promise<Runtime> {
  const withSecret = resolveJwtSecret(config);
  const database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : config.dataDir,
    poolSize: config.dbPoolSize,
    statementTimeoutMs: config.dbStatementTimeoutMs,
  });
  try {
    if (options.migrate !== false) await runMigrations(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  return { config: withSecret, database, close: () => database.close() };
}
