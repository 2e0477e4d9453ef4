/**
 * Opens what every Stampede process needs: the configuration with its JWT secret and the
 * migrated database. The caller closes it (`close()`) in a `finally`.
 *
 * The embedded database (no DATABASE_URL) has one writer at a time (src/db/data-dir.ts): the
 * process that takes the lock on DATA_DIR opens it; `serve` refuses to start when another process
 * holds it; any other command, while a server holds it, runs on the server's database through
 * its relay socket (src/db/relay.ts), and otherwise waits for the holder to finish.
 */
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.js';
import { type Database, openDatabase, openRelayDatabase } from '../db/client.js';
import { type DataDirHolder, type DataDirLock, tryLockDataDir } from '../db/data-dir.js';
import { runMigrations } from '../db/migrate.js';
import { relaySocketFits } from '../db/relay.js';
import { connectionFailure, SettingError, urlAddress } from '../errors.js';
import { resolveJwtSecret } from './jwt-secret.js';

export interface Runtime {
  config: Config & { jwtSecret: string };
  database: Database;
  /** The lock on DATA_DIR, when this process opened the embedded database itself. */
  dataDirLock: DataDirLock | undefined;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** false: do not run the migrations (they are checked by a ping only). */
  migrate?: boolean;
  /** The CLI command this process runs (`serve`, `users add`, ...), shown to other processes. */
  command?: string;
}

/** How long a command waits for a data directory held by another command, ms. */
const DATA_DIR_WAIT_MS = 30_000;

/**
 * Opens the database named by `config` (PostgreSQL or PGlite in `dataDir`) and migrates it.
 * @throws SettingError naming DATABASE_URL when PostgreSQL cannot be reached (refused, unknown
 *   host, timeout, authentication), or DATA_DIR when the embedded database cannot be opened or
 *   is held by another process (`serve` at once, other commands after {@link DATA_DIR_WAIT_MS}).
 */
export async function openRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const withSecret = resolveJwtSecret(config);
  const command = options.command ?? 'stampede';
  let database: Database;
  let dataDirLock: DataDirLock | undefined;
  let viaRelay = false;
  try {
    if (config.databaseUrl) {
      database = await openDatabase({
        url: config.databaseUrl,
        poolSize: config.dbPoolSize,
        statementTimeoutMs: config.dbStatementTimeoutMs,
      });
    } else {
      ({ database, dataDirLock } = await openEmbedded(config.dataDir, command));
      viaRelay = dataDirLock === undefined;
    }
  } catch (error) {
    throw databaseError(error, config, true);
  }
  const close = async () => {
    try {
      await database.close();
    } finally {
      await dataDirLock?.release();
    }
  };
  try {
    // Through the relay, the server that holds the directory has migrated it.
    if (options.migrate !== false && !viaRelay) await runMigrations(database);
    else await database.ping();
  } catch (error) {
    await close().catch(() => {});
    throw databaseError(error, config, false);
  }
  return { config: withSecret, database, dataDirLock, close };
}

/**
 * The embedded database of `dir`: opened here under its lock, or through the relay of the server
 * holding it.
 */
async function openEmbedded(
  dir: string,
  command: string,
): Promise<{ database: Database; dataDirLock: DataDirLock | undefined }> {
  mkdirSync(dir, { recursive: true });
  const deadline = Date.now() + DATA_DIR_WAIT_MS;
  for (;;) {
    const attempt = await tryLockDataDir(dir, command, (error) => {
      // Another process may now write the directory: stop before this one corrupts it.
      console.error(`stopping: the lock on DATA_DIR (${dir}) was lost (${error.message})`);
      process.exit(70);
    });
    if (attempt.locked) {
      try {
        return { database: await openDatabase({ dataDir: dir }), dataDirLock: attempt.lock };
      } catch (error) {
        await attempt.lock.release();
        throw error;
      }
    }
    const { holder } = attempt;
    if (command === 'serve' && holder) throw inUse(dir, holder, 'stop it, or set another DATA_DIR');
    if (holder?.socket) return { database: await openRelayDatabase(dir), dataDirLock: undefined };
    if (Date.now() > deadline) {
      throw holder
        ? inUse(dir, holder, 'retry when it has finished')
        : new SettingError(
            'DATA_DIR',
            `DATA_DIR (${dir}) is locked by a process that does not say who it is`,
          );
    }
    await sleep(250);
  }
}

function inUse(dir: string, holder: DataDirHolder, advice: string): SettingError {
  return new SettingError(
    'DATA_DIR',
    `DATA_DIR (${dir}) is in use by \`stampede ${holder.command}\` (pid ${holder.pid}): ${advice}`,
  );
}

/** Checks that `serve` can offer its relay socket in `dir`. @throws SettingError naming DATA_DIR. */
export function checkRelaySocket(dir: string): void {
  if (!relaySocketFits(dir)) {
    throw new SettingError(
      'DATA_DIR',
      `DATA_DIR (${dir}) is too long a path for the command socket inside it (107 bytes at most); choose a shorter one`,
    );
  }
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
      `cannot reach PostgreSQL at DATABASE_URL (${urlAddress(config.databaseUrl, 5432, { path: true })}): ${reason}`,
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
