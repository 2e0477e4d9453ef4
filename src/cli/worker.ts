/**
 * `stampede worker`: runs the redis-gate stream worker (src/worker) and a webhook dispatcher
 * (src/webhooks/dispatcher.ts; WEBHOOK_DISPATCH=false for none) until SIGINT/SIGTERM, then
 * finishes the batches in hand and exits. Any number of worker processes may run.
 */
import type { Command } from 'commander';
import { pino } from 'pino';
import { openRuntime } from '../app/runtime.js';
import { onShutdownSignal } from '../app/server.js';
import { loadConfig } from '../config.js';
import { StreamWorker } from '../gate/worker.js';
import { openRedis } from '../redis/connection.js';
import { startWebhookDispatcher } from '../webhooks/dispatcher.js';
import { integer } from './options.js';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('persist claims admitted by the redis-gate from the Redis streams into the database')
    .option('--concurrency <n>', 'parallel batches in this process', integer(1, 64), 2)
    .action(async (options: { concurrency: number }) => {
      const config = loadConfig();
      const logger = pino({ level: config.logLevel });
      const runtime = await openRuntime(config, { command: 'worker' });
      let redis: ReturnType<typeof openRedis>;
      try {
        redis = openRedis(config.redis, 'worker');
      } catch (error) {
        await runtime.close();
        throw error;
      }
      const worker = new StreamWorker({
        db: runtime.database.db,
        redis,
        config: config.worker,
        concurrency: options.concurrency,
        logger,
      });
      worker.start();
      const webhooks = startWebhookDispatcher(config.webhooks, runtime.database.db, logger);
      logger.info({ consumer: worker.consumer, batchSize: config.worker.batchSize }, 'worker started');
      onShutdownSignal(async (signal) => {
        logger.info({ signal }, 'worker stopping after the batches in hand');
        await worker.stop();
        await webhooks?.stop();
        await redis.close();
        await runtime.close();
        logger.info(worker.stats, 'worker stopped');
      });
    });
}
