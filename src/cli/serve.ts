/** `stampede serve`: migrates the database, then serves the API until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { buildApp } from '../http/app.js';
import { onShutdownSignal, startServer } from '../http/server.js';
import { purgeExpiredKeys } from '../idempotency/store.js';
import { openRuntime } from '../runtime.js';

/** How often expired idempotency keys are deleted, ms. */
const PURGE_INTERVAL_MS = 3_600_000;

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP API (embedded PGlite in DATA_DIR unless DATABASE_URL is set)')
    .action(async () => {
      const config = loadConfig();
      const runtime = await openRuntime(config);
      try {
        const app = await buildApp({
          config: runtime.config,
          database: runtime.database,
          logger: { level: config.logLevel },
        });
        const server = await startServer(app, config.host, config.port);
        app.log.info(
          {
            url: server.url,
            docs: `${server.url}/docs`,
            engine: runtime.database.engine,
            strategy: config.issuanceStrategy,
          },
          'stampede is serving',
        );
        const purge = setInterval(() => {
          purgeExpiredKeys(runtime.database.db).catch((err) =>
            app.log.warn({ err }, 'idempotency key purge failed'),
          );
        }, PURGE_INTERVAL_MS).unref();
        onShutdownSignal(async (signal) => {
          app.log.info({ signal }, 'shutting down');
          clearInterval(purge);
          await server.close();
          await runtime.close();
        });
      } catch (error) {
        await runtime.close();
        throw error;
      }
    });
}
