/** `stampede serve`: migrates the database, then serves the API until SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { ArchiveScheduler } from '../archive/scheduler.js';
import { resumeCodeJobs } from '../codes/jobs.js';
import { loadConfig } from '../config.js';
import { buildApp } from '../http/app.js';
import { onShutdownSignal, startServer } from '../http/server.js';
import { purgeExpiredKeys } from '../idempotency/store.js';
import { STALE_AFTER_SECONDS } from '../jobs/store.js';
import { openRuntime } from '../runtime.js';
import { startInProcessWorker } from '../worker/in-process.js';

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
        // redis-gate: the worker runs in this process unless WORKER_IN_PROCESS=false.
        const worker =
          config.issuanceStrategy === 'redis-gate' && config.worker.inProcess
            ? startInProcessWorker(config, runtime.database.db, app.log)
            : undefined;
        const { db } = runtime.database;
        // Code jobs of a process that died (or was stopped) resume here, at start and then
        // whenever one's heartbeat goes stale, so a quick restart does not strand a job.
        const resume = () =>
          resumeCodeJobs(db, app.services.jobs).then(
            (jobs) => {
              if (jobs.length > 0)
                app.log.warn({ jobs: jobs.map((job) => job.id) }, 'resumed code generation jobs');
            },
            (err) => app.log.warn({ err }, 'resuming code generation jobs failed'),
          );
        await resume();
        const resumeTimer = setInterval(resume, STALE_AFTER_SECONDS * 1000).unref();
        const archival = new ArchiveScheduler(db, {
          afterSeconds: config.archiveAfterSeconds,
          intervalSeconds: config.archiveIntervalSeconds,
          onRun: (report) => app.log.info({ archive: report }, 'archival ran'),
          onError: (error) => app.log.error({ err: error }, 'archival failed'),
        });
        archival.start();
        const server = await startServer(app, config.host, config.port);
        app.log.info(
          {
            url: server.url,
            docs: `${server.url}/docs`,
            engine: runtime.database.engine,
            strategy: config.issuanceStrategy,
            worker: worker ? 'in process' : 'none',
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
          await archival.stop();
          clearInterval(purge);
          clearInterval(resumeTimer);
          await server.close();
          await worker?.stop();
          await runtime.close();
        });
      } catch (error) {
        await runtime.close();
        throw error;
      }
    });
}
