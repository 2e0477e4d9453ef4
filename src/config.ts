/**
 * The one configuration schema of Stampede, parsed once at start-up from the environment.
 *
 * Nothing else in the code base reads `process.env`: every process (API, worker, CLI) calls
 * {@link loadConfig} and passes the result down. A missing or malformed variable stops start-up
 * with a {@link ConfigError} naming it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Static, Type } from 'typebox';
import { Value } from 'typebox/value';

export const STRATEGIES = ['db-atomic', 'db-lock', 'redis-lock', 'redis-gate'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

const LogLevel = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
);

/** A duration: an integer with an optional unit s, m, h or d (no unit = seconds). */
const DURATION_PATTERN = '^[0-9]{1,9}[smhd]?$';
const DURATION_UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds in a duration matching {@link DURATION_PATTERN}, e.g. `180d` → 15,552,000. */
export function parseDurationSeconds(text: string): number {
  const unit = /[smhd]$/.test(text) ? text.slice(-1) : 's';
  return Number.parseInt(text, 10) * DURATION_UNIT_SECONDS[unit]!;
}

const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'HTTP port (0 = ephemeral)' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'HTTP bind address' }),
  DATABASE_URL: Type.Optional(
    Type.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL URL; absent = embedded PGlite' }),
  ),
  DATA_DIR: Type.String({ minLength: 1, default: './data', description: 'embedded PGlite data directory' }),
  DB_POOL_SIZE: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 20,
    description: 'PostgreSQL connections',
  }),
  DB_STATEMENT_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    default: 5000,
    description: 'PostgreSQL statement_timeout per connection, ms',
  }),
  ISSUANCE_STRATEGY: Type.Union(
    STRATEGIES.map((name) => Type.Literal(name)),
    { default: 'db-atomic', description: 'how concurrent claims are serialized' },
  ),
  JWT_SECRET: Type.Optional(
    Type.String({ minLength: 32, description: 'HS256 secret, at least 32 characters' }),
  ),
  JWT_TTL_SECONDS: Type.Integer({ minimum: 60, default: 3600, description: 'access token lifetime, s' }),
  LOG_LEVEL: { ...LogLevel, default: 'info' },
  METRICS_ENABLED: Type.Boolean({
    default: true,
    description: 'export Prometheus metrics at /metrics and instrument claims and redemptions',
  }),
  LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS: Type.Integer({
    minimum: 0,
    default: 1000,
    description: 'answer 503 + Retry-After while the mean event-loop delay exceeds this, ms (0 = never shed)',
  }),
  LOAD_SHED_SAMPLE_INTERVAL_MS: Type.Integer({
    minimum: 10,
    default: 500,
    description: 'how often the event-loop delay is sampled for load shedding, ms',
  }),
  CLAIM_RATE_LIMIT_MAX: Type.Integer({
    minimum: 0,
    default: 10,
    description: 'claims one user may send per window before 429 + Retry-After (0 = no limit)',
  }),
  CLAIM_RATE_LIMIT_WINDOW_MS: Type.Integer({
    minimum: 100,
    default: 10_000,
    description: 'window of the per-user claim rate limit, ms (Redis-backed when Redis is configured)',
  }),
  CAMPAIGN_CACHE_ENABLED: Type.Boolean({
    default: true,
    description: 'two-level campaign cache (in-process, then Redis); used only when Redis is configured',
  }),
  CAMPAIGN_CACHE_L1_TTL_MS: Type.Integer({
    minimum: 0,
    default: 10_000,
    description: 'campaign cache level 1 (in-process LRU) time to live, ms',
  }),
  CAMPAIGN_CACHE_L2_TTL_SECONDS: Type.Integer({
    minimum: 1,
    default: 1800,
    description: 'campaign cache level 2 (Redis) time to live, s',
  }),
  CAMPAIGN_CACHE_L1_MAX_ENTRIES: Type.Integer({
    minimum: 1,
    default: 10_000,
    description: 'campaigns kept in the in-process cache at most',
  }),
  LOAD_SHED_RETRY_AFTER_SECONDS: Type.Integer({
    minimum: 1,
    default: 2,
    description: 'Retry-After of a shed request, s',
  }),
  REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^rediss?://',
      description: 'single-node Redis URL (redis-lock, redis-gate, caches)',
    }),
  ),
  REDIS_CLUSTER_NODES: Type.Optional(
    Type.String({
      pattern: '^[^,\\s]+:[0-9]+(,[^,\\s]+:[0-9]+)*$',
      description: 'Redis Cluster seed nodes, comma-separated host:port (instead of REDIS_URL)',
    }),
  ),
  REDIS_KEY_PREFIX: Type.String({
    pattern: '^[A-Za-z0-9:_.-]*$',
    default: 'stampede:',
    description: 'prefix of every Redis key (a namespace per deployment or test)',
  }),
  REDIS_LOCK_LEASE_MS: Type.Integer({
    minimum: 50,
    default: 2000,
    description: 'redis-lock: lease of the per-campaign lock, ms (must be below DB_STATEMENT_TIMEOUT_MS)',
  }),
  REDIS_LOCK_WAIT_MS: Type.Integer({
    minimum: 10,
    default: 5000,
    description: 'redis-lock: longest wait for the lock before a claim gets 503, ms',
  }),
  REDIS_BREAKER_FAILURES: Type.Integer({
    minimum: 1,
    default: 5,
    description: 'consecutive Redis failures that open the circuit breaker of the claim path',
  }),
  REDIS_BREAKER_HALF_OPEN_MS: Type.Integer({
    minimum: 100,
    default: 5000,
    description: 'time an open Redis circuit breaker waits before letting one trial call through, ms',
  }),
  WORKER_IN_PROCESS: Type.Boolean({
    default: true,
    description: 'redis-gate: run the stream worker inside `serve` (false = only `stampede worker`)',
  }),
  WORKER_BATCH_SIZE: Type.Integer({
    minimum: 1,
    maximum: 10000,
    default: 500,
    description: 'claims read from a campaign stream and persisted per transaction',
  }),
  WORKER_CLAIM_IDLE_MS: Type.Integer({
    minimum: 10,
    default: 30000,
    description: 'a stream entry unacked for this long is re-delivered to another worker (XAUTOCLAIM), ms',
  }),
  WORKER_MAX_DELIVERIES: Type.Integer({
    minimum: 1,
    default: 5,
    description: 'deliveries of one claim before it becomes a dead letter',
  }),
  WORKER_POLL_MS: Type.Integer({
    minimum: 1,
    default: 20,
    description: 'pause of an idle worker between polls of the campaign streams, ms',
  }),
  ARCHIVE_AFTER: Type.String({
    pattern: DURATION_PATTERN,
    default: '180d',
    description:
      'archive campaigns soft-deleted longer than this (and forbid their restore): 180d, 12h, 30m, 45s or seconds',
  }),
  ARCHIVE_INTERVAL: Type.String({
    pattern: DURATION_PATTERN,
    default: '90d',
    description: 'how often the in-process archival runs (90d = every 3 months, seed 004); 0 = never',
  }),
});

type Env = Static<typeof EnvSchema>;

/** The parsed configuration. Durations carry their unit in the name. */
export interface Config {
  port: number;
  host: string;
  /** PostgreSQL URL, or undefined for the embedded PGlite database in {@link Config.dataDir}. */
  databaseUrl: string | undefined;
  dataDir: string;
  dbPoolSize: number;
  dbStatementTimeoutMs: number;
  issuanceStrategy: StrategyName;
  /** Undefined only in embedded mode before {@link resolveJwtSecret} ran. */
  jwtSecret: string | undefined;
  jwtTtlSeconds: number;
  logLevel: string;
  metricsEnabled: boolean;
  /** Load shedding on event-loop delay; `maxEventLoopDelayMs` 0 disables it. */
  loadShedding: { maxEventLoopDelayMs: number; sampleIntervalMs: number; retryAfterSeconds: number };
  /** The two-level campaign cache (src/campaigns/cache.ts); needs Redis. */
  campaignCache: { enabled: boolean; l1TtlMs: number; l2TtlSeconds: number; l1MaxEntries: number };
  /** Per-user claim rate limit; `max` 0 disables it. */
  claimRateLimit: { max: number; windowMs: number };
  /** Soft-deleted campaigns older than this are archived and can no longer be restored, s. */
  archiveAfterSeconds: number;
  /** Period of the in-process archival, s; 0 disables the schedule. */
  archiveIntervalSeconds: number;
  redis: RedisConfig;
  worker: WorkerConfig;
}

/** Redis settings; `url` and `clusterNodes` are both undefined when no Redis is configured. */
export interface RedisConfig {
  url: string | undefined;
  /** Seed nodes of a Redis Cluster (host and port), or undefined for a single node. */
  clusterNodes: { host: string; port: number }[] | undefined;
  keyPrefix: string;
  lockLeaseMs: number;
  lockWaitMs: number;
  breakerFailures: number;
  breakerHalfOpenMs: number;
}

/** The redis-gate stream worker. */
export interface WorkerConfig {
  inProcess: boolean;
  batchSize: number;
  claimIdleMs: number;
  maxDeliveries: number;
  pollMs: number;
}

/** A configuration problem; `variable` names the environment variable at fault. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Documented variables and their defaults, for `--help` texts and the README table. */
export const CONFIG_VARIABLES = Object.entries(EnvSchema.properties).map(([name, schema]) => ({
  name,
  description: (schema as { description?: string }).description ?? '',
  default: (schema as { default?: unknown }).default,
}));

/**
 * Parses the environment into a {@link Config}.
 *
 * @param env the variables to read (defaults to `process.env`); empty strings count as unset.
 * @param options.requireJwtSecret false for processes that sign with a secret of their own
 *   (`simulate` runs its in-process server with a random one), so DATABASE_URL alone is enough.
 * @throws ConfigError naming the first bad variable.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: { requireJwtSecret?: boolean } = {},
): Config {
  const known = Object.keys(EnvSchema.properties);
  const raw: Record<string, string> = {};
  for (const name of known) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[name] = value;
  }
  const parsed = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw)) as Env;
  const firstError = Value.Errors(EnvSchema, parsed)[0];
  if (firstError) {
    const variable = firstError.instancePath.replace(/^\//, '') || 'environment';
    const shown =
      raw[variable] === undefined ? '' : ` (got ${JSON.stringify(redact(variable, raw[variable]))})`;
    throw new ConfigError(variable, `${describeError(variable, firstError.message)}${shown}`);
  }
  if (parsed.DATABASE_URL && !parsed.JWT_SECRET && options.requireJwtSecret !== false) {
    throw new ConfigError('JWT_SECRET', 'is required when DATABASE_URL is set (at least 32 characters)');
  }
  if (parsed.REDIS_URL && parsed.REDIS_CLUSTER_NODES) {
    throw new ConfigError('REDIS_CLUSTER_NODES', 'set either REDIS_URL or REDIS_CLUSTER_NODES, not both');
  }
  const strategy = parsed.ISSUANCE_STRATEGY as StrategyName;
  if (strategy.startsWith('redis-') && !parsed.REDIS_URL && !parsed.REDIS_CLUSTER_NODES) {
    throw new ConfigError(
      'REDIS_URL',
      `is required by ISSUANCE_STRATEGY=${strategy} (or set REDIS_CLUSTER_NODES)`,
    );
  }
  if (parsed.REDIS_LOCK_LEASE_MS >= parsed.DB_STATEMENT_TIMEOUT_MS) {
    // The lease must outlive nothing the lock protects: a statement still running after the
    // lease expired could overlap the next holder's (the DB constraints would still hold).
    throw new ConfigError(
      'REDIS_LOCK_LEASE_MS',
      `must be below DB_STATEMENT_TIMEOUT_MS (${parsed.DB_STATEMENT_TIMEOUT_MS})`,
    );
  }
  return {
    port: parsed.PORT,
    host: parsed.HOST,
    databaseUrl: parsed.DATABASE_URL,
    dataDir: resolve(parsed.DATA_DIR),
    dbPoolSize: parsed.DB_POOL_SIZE,
    dbStatementTimeoutMs: parsed.DB_STATEMENT_TIMEOUT_MS,
    issuanceStrategy: parsed.ISSUANCE_STRATEGY as StrategyName,
    jwtSecret: parsed.JWT_SECRET,
    jwtTtlSeconds: parsed.JWT_TTL_SECONDS,
    logLevel: parsed.LOG_LEVEL as string,
    metricsEnabled: parsed.METRICS_ENABLED,
    loadShedding: {
      maxEventLoopDelayMs: parsed.LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS,
      sampleIntervalMs: parsed.LOAD_SHED_SAMPLE_INTERVAL_MS,
      retryAfterSeconds: parsed.LOAD_SHED_RETRY_AFTER_SECONDS,
    },
    claimRateLimit: { max: parsed.CLAIM_RATE_LIMIT_MAX, windowMs: parsed.CLAIM_RATE_LIMIT_WINDOW_MS },
    campaignCache: {
      enabled: parsed.CAMPAIGN_CACHE_ENABLED,
      l1TtlMs: parsed.CAMPAIGN_CACHE_L1_TTL_MS,
      l2TtlSeconds: parsed.CAMPAIGN_CACHE_L2_TTL_SECONDS,
      l1MaxEntries: parsed.CAMPAIGN_CACHE_L1_MAX_ENTRIES,
    },
    redis: {
      url: parsed.REDIS_URL,
      clusterNodes: parsed.REDIS_CLUSTER_NODES?.split(',').map(parseHostPort),
      keyPrefix: parsed.REDIS_KEY_PREFIX,
      lockLeaseMs: parsed.REDIS_LOCK_LEASE_MS,
      lockWaitMs: parsed.REDIS_LOCK_WAIT_MS,
      breakerFailures: parsed.REDIS_BREAKER_FAILURES,
      breakerHalfOpenMs: parsed.REDIS_BREAKER_HALF_OPEN_MS,
    },
    worker: {
      inProcess: parsed.WORKER_IN_PROCESS,
      batchSize: parsed.WORKER_BATCH_SIZE,
      claimIdleMs: parsed.WORKER_CLAIM_IDLE_MS,
      maxDeliveries: parsed.WORKER_MAX_DELIVERIES,
      pollMs: parsed.WORKER_POLL_MS,
    },
    archiveAfterSeconds: parseDurationSeconds(parsed.ARCHIVE_AFTER),
    archiveIntervalSeconds: parseDurationSeconds(parsed.ARCHIVE_INTERVAL),
  };
}

function parseHostPort(node: string): { host: string; port: number } {
  const at = node.lastIndexOf(':');
  return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
}

function describeError(variable: string, message: string): string {
  const schema = (EnvSchema.properties as Record<string, { anyOf?: { const: string }[] }>)[variable];
  if (schema?.anyOf) return `must be one of ${schema.anyOf.map((s) => s.const).join(', ')}`;
  return message;
}

function redact(variable: string, value: string | undefined): string | undefined {
  return variable.includes('SECRET') ? '<redacted>' : value;
}

/**
 * Returns the config with a JWT secret: the configured one, or in embedded mode a random secret
 * generated once and kept in `<dataDir>/jwt-secret` (mode 0600) so tokens survive restarts.
 */
export function resolveJwtSecret(config: Config): Config & { jwtSecret: string } {
  if (config.jwtSecret) return { ...config, jwtSecret: config.jwtSecret };
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'jwt-secret');
  try {
    return { ...config, jwtSecret: readFileSync(file, 'utf8').trim() };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return { ...config, jwtSecret: secret };
}
