/**
 * `stampede serve`: migrates the database, then serves the API until SIGINT/SIGTERM.
 *
 * `--workers N` runs N processes sharing the port through node:cluster, so every core of the
 * machine serves (default: one per core with PostgreSQL, one with embedded PGlite). Each worker
 * opens its own pool (DB_POOL_SIZE connections each) and runs the migrations at start; they are
 * applied once, under the PostgreSQL advisory lock of src/db/migrate.ts, and the other workers
 * find them done. Embedded PGlite is a single-process database, so more than one worker needs
 * DATABASE_URL.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { buildApp } from '../app/build-app.js';
import { checkRelaySocket, openRuntime } from '../app/runtime.js';
import { checkListen, onShutdownSignal, startServer } from '../app/server.js';
import { ArchiveScheduler } from '../archive/scheduler.js';
import { prepareFirstAdmin } from '../auth/setup.js';
import { resumeCodeJobs } from '../codes/jobs.js';
import { type Config, ConfigError, loadConfig } from '../config.js';
import { type Relay, startRelay } from '../db/relay.js';
import { startInProcessWorker } from '../gate/in-process.js';
import { loggerOptions } from '../http/logging.js';
import { purgeExpiredKeys } from '../idempotency/store.js';
import { STALE_AFTER_SECONDS } from '../jobs/store.js';
import { joinClusterMetrics, serveClusterMetrics } from '../metrics/cluster.js';
import { startWebhookDispatcher } from '../webhooks/dispatcher.js';
import { purgeSettledEvents } from '../webhooks/repository.js';

/** How often expired idempotency keys and settled webhook events past retention are deleted, ms. */
const PURGE_INTERVAL_MS = 3_600_000;

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP API (embedded PGlite in DATA_DIR unless DATABASE_URL is set)')
    .option(
      '--workers <n>',
      'processes serving the port (node:cluster); default one per core with DATABASE_URL, 1 with PGlite',
      parseWorkers,
    )
    .action(async (options: { workers?: number }) => {
      const config = loadConfig();
      const workers = workerCount(options.workers, config);
      if (workers > 1 && cluster.isPrimary) {
        await checkListen(config.host, config.port);
        runPrimary(workers, config);
        return;
      }
      if (cluster.isWorker) joinClusterMetrics();
      await serveOneProcess(config);
    });
}

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new InvalidArgumentError('must be an integer from 1 to 256');
  return n;
}

/**
 * The number of serving processes.
 * @throws ConfigError when more than one is asked for without DATABASE_URL.
 */
export function workerCount(requested: number | undefined, config: Config): number {
  if (!config.databaseUrl) {
    if (requested !== undefined && requested > 1) {
      throw new ConfigError(
        'DATABASE_URL',
        `--workers ${requested} needs PostgreSQL: the embedded PGlite database cannot be shared by several processes`,
      );
    }
    return 1;
  }
  return requested ?? availableParallelism();
}

/**
 * The cluster primary: forks the workers, replaces a worker that dies after it started serving,
 * merges their metrics, and on SIGINT/SIGTERM stops them all before exiting.
 */
function runPrimary(workers: number, config: Config): void {
  const { stream, ...options } = loggerOptions(config.logLevel);
  const log = pino(options, stream);
  let stopping = false;
  serveClusterMetrics();
  const fork = () => {
    const worker = cluster.fork();
    let listening = false;
    worker.once('listening', () => {
      listening = true;
    });
    worker.once('exit', (code, signal) => {
      if (stopping) return;
      if (!listening) {
        // A worker that never served (bad config, database down) would fail the same way again.
        log.fatal({ pid: worker.process.pid, code, signal }, 'a worker failed at start; stopping');
        stopAll(1);
        return;
      }
      log.error({ pid: worker.process.pid, code, signal }, 'a worker died; starting a replacement');
      fork();
    });
  };
  const stopAll = (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    const workers = () => Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
    for (const worker of workers()) if (!worker.isDead()) worker.process.kill('SIGTERM');
    // Polled rather than awaited per worker: a worker may have exited before we listen for it.
    setInterval(() => {
      if (workers().every((worker) => worker.isDead())) process.exit(exitCode);
    }, 100);
  };
  for (let i = 0; i < workers; i++) fork();
  log.info({ workers, pid: process.pid }, 'stampede cluster primary started');
  onShutdownSignal(async (signal) => {
    log.info({ signal }, 'stopping workers');
    stopAll(0);
  });
}

async function serveOneProcess(config: Config): Promise<void> {
  if (cluster.isPrimary) await checkListen(config.host, config.port);
  if (!config.databaseUrl) checkRelaySocket(config.dataDir);
  const runtime = await openRuntime(config, { command: 'serve' });
  let relay: Relay | undefined;
  try {
    // Embedded: other commands (users add, codes generate, ...) reach this database through it.
    const { pglite } = runtime.database;
    if (runtime.dataDirLock && pglite) {
      relay = await startRelay(pglite, runtime.dataDirLock.dir);
      runtime.dataDirLock.advertise(relay.socket);
    }
    const app = await buildApp({
      config: runtime.config,
      database: runtime.database,
      logger: loggerOptions(config.logLevel),
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
    const webhooks = startWebhookDispatcher(config.webhooks, db, app.log);
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
    // Every cluster worker checks (any may be first), only the first one announces.
    const firstRun = await prepareFirstAdmin(db, runtime.config);
    const announces = !cluster.isWorker || cluster.worker?.id === 1;
    if (firstRun.state === 'created') {
      app.log.info({ admin: firstRun.admin.email }, 'created the first admin from STAMPEDE_ADMIN_EMAIL');
    } else if (firstRun.state === 'needed' && announces) {
      const link = `${server.url}/console/setup?token=${firstRun.token}`;
      app.log.warn(
        { setupUrl: link, setupToken: firstRun.token },
        `no admin yet: open ${link} or POST /v1/setup {"token":"${firstRun.token}","email":…,"password":…}`,
      );
    }
    const purge = setInterval(() => {
      purgeExpiredKeys(db).catch((err) => app.log.warn({ err }, 'idempotency key purge failed'));
      purgeSettledEvents(db).catch((err) => app.log.warn({ err }, 'webhook event purge failed'));
    }, PURGE_INTERVAL_MS).unref();
    onShutdownSignal(async (signal) => {
      app.log.info({ signal }, 'shutting down');
      await archival.stop();
      clearInterval(purge);
      clearInterval(resumeTimer);
      await server.close();
      await worker?.stop();
      await webhooks?.stop();
      await relay?.close();
      await runtime.close();
      // A cluster worker's IPC channel to the primary would keep it alive forever.
      if (cluster.isWorker) process.exit(0);
    });
  } catch (error) {
    await relay?.close();
    await runtime.close();
    throw error;
  }
}
