/**
 * The in-process target of `stampede simulate`: Stampede started in this process on an ephemeral
 * port, on a fresh in-memory PGlite or on the PostgreSQL of DATABASE_URL (where it only adds a
 * campaign).
 *
 * It does not shed load (see below). The in-process server signs its own admin token with a random
 * secret generated for the run, so the token is worthless anywhere else and no JWT_SECRET is needed.
 * Tokens must name a real user (src/auth/principals.ts), so the run acts as an admin account of
 * its own, `simulate-<random>@stampede.invalid` with a random password nobody knows, deleted when
 * the run ends (so it never counts as an installation's admin: setup and the last-admin rule).
 */
import { randomBytes } from 'node:crypto';
import { hashPassword } from '../auth/passwords.js';
import { deleteUser, insertUser } from '../auth/users.js';
import type { Config, StrategyName } from '../config.js';
import { type Database, openDatabase } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { waitForDrain } from '../gate/drain.js';
import { startInProcessWorker } from '../gate/in-process.js';
import type { IssuanceStrategy } from '../issuance/strategies/types.js';
import { readDatabaseTruth } from '../simulate/invariants.js';
import type { SimulationTarget } from '../simulate/target.js';
import { buildApp } from './build-app.js';
import { startServer } from './server.js';

/**
 * A strategy that needs more than the database (the Redis strategies), plugged into the
 * in-process server by the module that builds it.
 */
export interface IssuancePlugin {
  strategy: IssuanceStrategy;
  /** Resolves once every admitted claim is persisted (e.g. the workers drained the stream). */
  waitForSettled(): Promise<void>;
  close(): Promise<void>;
}

export type IssuancePluginFactory = (database: Database, config: Config) => Promise<IssuancePlugin>;

export interface InProcessOptions {
  /** Base configuration: pool size and statement timeout are taken from it. */
  config: Config;
  strategy: StrategyName;
  /** PostgreSQL URL (a fresh campaign is added; nothing is wiped); absent = fresh in-memory PGlite. */
  databaseUrl?: string | undefined;
  /** Builds the strategy when it is not a database strategy (redis-lock, redis-gate). */
  issuance?: IssuancePluginFactory | undefined;
}

/** The domain of the run's own admin account (an admin, so it may act for the simulated users). */
const SIMULATOR_DOMAIN = 'stampede.invalid';

/** Starts Stampede in this process on 127.0.0.1, port 0. The caller closes the target. */
export async function startInProcessTarget(options: InProcessOptions): Promise<SimulationTarget> {
  const database = await openDatabase({
    url: options.databaseUrl,
    poolSize: options.config.dbPoolSize,
    statementTimeoutMs: options.config.dbStatementTimeoutMs,
  });
  let plugin: IssuancePlugin | undefined;
  try {
    await runMigrations(database);
    const config = {
      ...options.config,
      databaseUrl: options.databaseUrl,
      issuanceStrategy: options.strategy,
      jwtSecret: randomBytes(48).toString('base64url'),
      // No load shedding: on a shared machine it would refuse claims because of CPU the
      // neighbours took, and the run would measure them instead of the strategy. Shedding is
      // tested against a real server (`--url`) and in test/observability/load-shedding.test.ts.
      loadShedding: { ...options.config.loadShedding, maxEventLoopDelayMs: 0 },
    };
    plugin = options.issuance ? await options.issuance(database, config) : undefined;
    const app = await buildApp({ config, database, ...(plugin ? { issuance: plugin.strategy } : {}) });
    // redis-gate admits claims (202); a worker in this process persists them, and the simulator
    // waits for the pipeline to drain before it checks the database.
    const redis = app.services.redis;
    const worker =
      !plugin && options.strategy === 'redis-gate' && redis
        ? startInProcessWorker(config, database.db)
        : undefined;
    // One account per run: a simulation beside this one has its own, so neither revokes the other.
    const email = `simulate-${randomBytes(6).toString('hex')}@${SIMULATOR_DOMAIN}`;
    const user = await insertUser(database.db, {
      email,
      role: 'admin',
      passwordHash: await hashPassword(randomBytes(32).toString('base64url')),
    });
    if (!user) throw new Error(`the simulator account ${email} could not be created`);
    const server = await startServer(app, '127.0.0.1', 0);
    const activePlugin = plugin;
    const settle = activePlugin
      ? () => activePlugin.waitForSettled()
      : worker && redis
        ? () => waitForDrain(database.db, redis, { timeoutMs: 120_000 })
        : undefined;
    return {
      mode: 'in-process',
      url: server.url,
      token: app.tokens.sign({ sub: user.id, role: user.role, ver: user.tokenVersion }),
      engine: database.engine,
      strategy: options.strategy,
      readTruth: (campaignId, acknowledgedIds) => readDatabaseTruth(database.db, campaignId, acknowledgedIds),
      waitForSettled: settle,
      close: async () => {
        try {
          await server.close();
          await worker?.stop();
          await activePlugin?.close();
          await deleteUser(database.db, user.id);
        } finally {
          await database.close();
        }
      },
    };
  } catch (error) {
    await plugin?.close();
    await database.close();
    throw error;
  }
}
