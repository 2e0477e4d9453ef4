/**
 * The Redis connection of a process: one ioredis client (single node from `REDIS_URL`, or a
 * Redis Cluster from `REDIS_CLUSTER_NODES`) with auto-pipelining on, and the key builder. Every
 * Redis user (gate, lock, worker, caches, rate limits) shares it; Lua scripts run on it through
 * src/redis/scripts.ts.
 *
 * Failure behaviour: while Redis is unreachable a command is retried across one reconnection
 * attempt and then rejected (`maxRetriesPerRequest: 1`), so callers — and the circuit breaker of
 * the claim path — see failures within about a hundred milliseconds instead of queueing forever.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { ConfigError, type RedisConfig } from '../config.js';
import { connectionFailure, SettingError, urlAddress } from '../errors.js';
import { RedisKeys } from './keys.js';

export type RedisClient = Redis | Cluster;

export interface RedisConnection {
  client: RedisClient;
  keys: RedisKeys;
  /** True for Redis Cluster. */
  cluster: boolean;
  /** Throws when Redis does not answer PING. */
  ping(): Promise<void>;
  /** Closes the connection after replies to commands already sent (QUIT). */
  close(): Promise<void>;
}

/** Reconnect delays, ms: quick first retries, then at most 1 s apart. */
const retryStrategy = (attempt: number) => Math.min(attempt * 50, 1000);

const COMMON_OPTIONS: RedisOptions = {
  enableAutoPipelining: true,
  maxRetriesPerRequest: 1,
  retryStrategy,
  connectTimeout: 2000,
};

/**
 * Opens the Redis connection named by `config` (connecting in the background).
 * @param name a client name shown by `CLIENT LIST` (e.g. "api", "worker").
 * @throws ConfigError naming `REDIS_URL` when neither REDIS_URL nor REDIS_CLUSTER_NODES is set.
 */
export function openRedis(config: RedisConfig, name = 'stampede'): RedisConnection {
  let client: RedisClient;
  if (config.clusterNodes) {
    client = new Cluster(config.clusterNodes, {
      enableAutoPipelining: true,
      clusterRetryStrategy: retryStrategy,
      redisOptions: { ...COMMON_OPTIONS, connectionName: name },
      // Scripts run on masters only; replicas are not read.
      scaleReads: 'master',
    });
  } else if (config.url) {
    client = new Redis(config.url, { ...COMMON_OPTIONS, connectionName: name });
  } else {
    throw new ConfigError('REDIS_URL', 'is required for Redis (or set REDIS_CLUSTER_NODES)');
  }
  // Connection errors surface on the commands that fail; the event itself must not crash the process.
  client.on('error', () => {});
  return {
    client,
    keys: new RedisKeys(config.keyPrefix),
    cluster: config.clusterNodes !== undefined,
    ping: async () => {
      await client.ping();
    },
    close: async () => {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

/**
 * Opens the Redis connection and waits for one PING, for commands that cannot do anything
 * without Redis (`stampede reconcile`, `dead-letters retry`).
 * @throws SettingError naming REDIS_URL (or REDIS_CLUSTER_NODES) and the address when Redis does
 *   not answer, e.g. "cannot reach Redis at REDIS_URL (127.0.0.1:6390): connection refused".
 */
export async function connectRedis(config: RedisConfig, name = 'stampede'): Promise<RedisConnection> {
  const connection = openRedis(config, name);
  // The reply error only says "max retries reached"; the connection's own error says why.
  let lastError: unknown;
  const remember = (error: unknown) => {
    lastError = error;
  };
  connection.client.on('error', remember);
  try {
    await connection.ping();
    connection.client.off('error', remember);
    return connection;
  } catch (error) {
    connection.client.disconnect();
    const setting = config.clusterNodes ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL';
    const address = config.clusterNodes
      ? config.clusterNodes.map((node) => `${node.host}:${node.port}`).join(',')
      : urlAddress(config.url ?? '', 6379);
    const reason =
      connectionFailure(lastError) ??
      connectionFailure(error) ??
      (error instanceof Error ? error.message : String(error));
    throw new SettingError(setting, `cannot reach Redis at ${setting} (${address}): ${reason}`, {
      cause: error,
    });
  }
}

/** True when Redis is configured (REDIS_URL or REDIS_CLUSTER_NODES). */
export function redisConfigured(config: RedisConfig): boolean {
  return config.url !== undefined || config.clusterNodes !== undefined;
}
