/**
 * The redis-gate stream worker running inside an API process (`serve`, and the in-process server
 * of `stampede simulate`), on a Redis connection of its own so its blocking reads never delay the
 * API's commands.
 */
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { openRedis, type RedisConnection } from '../redis/connection.js';
import { StreamWorker, type StreamWorkerOptions } from './worker.js';

export interface InProcessWorker {
  worker: StreamWorker;
  redis: RedisConnection;
  /** Finishes the batch in hand, then closes the worker's connection. */
  stop(): Promise<void>;
}

/** Starts a worker persisting the streams of `config.redis` into `db`. */
export function startInProcessWorker(
  config: Config,
  db: Db,
  logger?: StreamWorkerOptions['logger'],
): InProcessWorker {
  const redis = openRedis(config.redis, 'worker');
  const worker = new StreamWorker({ db, redis, config: config.worker, ...(logger ? { logger } : {}) });
  worker.start();
  return {
    worker,
    redis,
    stop: async () => {
      try {
        await worker.stop();
      } finally {
        await redis.close();
      }
    },
  };
}
