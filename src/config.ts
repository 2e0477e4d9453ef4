/**
 * The one configuration schema of Stampede, parsed once at start-up from the environment.
 *
 * Each setting is declared once, in {@link ConfigSchema}: where it sits in the {@link Config}
 * object, the environment variable it is read from (`env(...)`), its type, bounds, default and
 * description, and how its text becomes a value (durations and host lists are decoded here). The
 * `Config` type is derived from the schema; the README's configuration table is checked against
 * {@link CONFIG_VARIABLES}.
 *
 * Nothing else in the code base reads `process.env`: every process (API, worker, CLI) calls
 * {@link loadConfig} and passes the result down. A missing or malformed variable stops start-up
 * with a {@link ConfigError} naming it.
 */
import { resolve } from 'node:path';
import { type StaticDecode, type TSchema, type TSchemaOptions, Type } from 'typebox';
import { Value } from 'typebox/value';

export const STRATEGIES = ['db-atomic', 'db-lock', 'redis-lock', 'redis-gate', 'db-batch'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A duration: an integer with an optional unit s, m, h or d (no unit = seconds). */
const DURATION_PATTERN = '^[0-9]{1,9}[smhd]?$';
const DURATION_UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds in a duration matching {@link DURATION_PATTERN}, e.g. `180d` → 15,552,000. */
export function parseDurationSeconds(text: string): number {
  const unit = /[smhd]$/.test(text) ? text.slice(-1) : 's';
  return Number.parseInt(text, 10) * DURATION_UNIT_SECONDS[unit]!;
}

/** The schema keyword naming the environment variable a setting is read from. */
const ENV = 'x-env';

/**
 * Marks `schema` (a fresh schema object) as read from the environment variable `name`. It is
 * marked in place: a copy would lose TypeBox's non-enumerable type information.
 */
const env = <T extends TSchema>(name: string, schema: T): T => {
  (schema as Record<string, unknown>)[ENV] = name;
  return schema;
};

/** A duration setting (see {@link DURATION_PATTERN}), decoded to seconds. */
const DurationSeconds = (options: { default: string; description: string }) =>
  Type.Decode(Type.String({ pattern: DURATION_PATTERN, ...options }), parseDurationSeconds);

/** One of `values` (the error message lists them). */
const Enumeration = <const T extends string>(values: readonly T[], options: TSchemaOptions) =>
  Type.Unsafe<T>(
    Type.Union(
      values.map((value) => Type.Literal(value)),
      options,
    ),
  );

/** `host:port` seed nodes, comma-separated, decoded to a list. */
const HostPorts = Type.Decode(
  Type.String({
    pattern: '^[^,\\s]+:[0-9]+(,[^,\\s]+:[0-9]+)*$',
    description: 'Redis Cluster seed nodes, comma-separated host:port (instead of REDIS_URL)',
  }),
  (text) =>
    text.split(',').map((node) => {
      const at = node.lastIndexOf(':');
      return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
    }),
);

export const ConfigSchema = Type.Object({
  port: env(
    'PORT',
    Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'HTTP port (0 = ephemeral)' }),
  ),
  host: env('HOST', Type.String({ minLength: 1, default: '127.0.0.1', description: 'HTTP bind address' })),
  /** PostgreSQL URL, or undefined for the embedded PGlite database in `dataDir`. */
  databaseUrl: Type.Optional(
    env(
      'DATABASE_URL',
      Type.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL URL; absent = embedded PGlite' }),
    ),
  ),
  dataDir: env(
    'DATA_DIR',
    Type.Decode(
      Type.String({ minLength: 1, default: './data', description: 'embedded PGlite data directory' }),
      (dir) => resolve(dir),
    ),
  ),
  dbPoolSize: env(
    'DB_POOL_SIZE',
    Type.Integer({ minimum: 1, maximum: 1000, default: 20, description: 'PostgreSQL connections' }),
  ),
  dbStatementTimeoutMs: env(
    'DB_STATEMENT_TIMEOUT_MS',
    Type.Integer({
      minimum: 100,
      default: 5000,
      description: 'PostgreSQL statement_timeout per connection, ms',
    }),
  ),
  issuanceStrategy: env(
    'ISSUANCE_STRATEGY',
    Enumeration(STRATEGIES, { default: 'db-batch', description: 'how concurrent claims are serialized' }),
  ),
  claimBatchMax: env(
    'CLAIM_BATCH_MAX',
    Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 100,
      description: 'db-batch: claims of one campaign admitted by one statement and commit, at most',
    }),
  ),
  /** Undefined only in embedded mode, where `serve` keeps a generated one (src/app/jwt-secret.ts). */
  jwtSecret: Type.Optional(
    env('JWT_SECRET', Type.String({ minLength: 32, description: 'HS256 secret, at least 32 characters' })),
  ),
  /** The first admin, created by `serve` on a database without one (src/auth/setup.ts). */
  firstAdmin: Type.Object({
    email: env(
      'STAMPEDE_ADMIN_EMAIL',
      Type.Optional(
        Type.String({
          format: 'email',
          description: 'email of the first admin, created at start when no admin exists (with the password)',
        }),
      ),
    ),
    password: env(
      'STAMPEDE_ADMIN_PASSWORD',
      Type.Optional(
        Type.String({ minLength: 8, description: 'password of the first admin, at least 8 characters' }),
      ),
    ),
  }),
  jwtTtlSeconds: env(
    'JWT_TTL_SECONDS',
    Type.Integer({
      minimum: 60,
      maximum: 86_400,
      default: 900,
      description: 'access token lifetime, s (short: sessions last through refresh tokens)',
    }),
  ),
  refreshTokenTtlSeconds: env(
    'REFRESH_TOKEN_TTL_SECONDS',
    Type.Integer({
      minimum: 300,
      default: 1_209_600,
      description: 'refresh token lifetime, s (14 days); each refresh issues a new one',
    }),
  ),
  logLevel: env('LOG_LEVEL', Enumeration(LOG_LEVELS, { default: 'info' })),
  metricsEnabled: env(
    'METRICS_ENABLED',
    Type.Boolean({
      default: true,
      description: 'export Prometheus metrics at /metrics and instrument claims and redemptions',
    }),
  ),
  /** Load shedding on event-loop delay; `maxEventLoopDelayMs` 0 disables it. */
  loadShedding: Type.Object({
    maxEventLoopDelayMs: env(
      'LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS',
      Type.Integer({
        minimum: 0,
        default: 1000,
        description:
          'answer 503 + Retry-After while the mean event-loop delay exceeds this, ms (0 = never shed)',
      }),
    ),
    sampleIntervalMs: env(
      'LOAD_SHED_SAMPLE_INTERVAL_MS',
      Type.Integer({
        minimum: 10,
        default: 500,
        description: 'how often the event-loop delay is sampled for load shedding, ms',
      }),
    ),
    retryAfterSeconds: env(
      'LOAD_SHED_RETRY_AFTER_SECONDS',
      Type.Integer({ minimum: 1, default: 2, description: 'Retry-After of a shed request, s' }),
    ),
  }),
  /** Per-user claim rate limit; `max` 0 disables it. */
  claimRateLimit: Type.Object({
    max: env(
      'CLAIM_RATE_LIMIT_MAX',
      Type.Integer({
        minimum: 0,
        default: 10,
        description: 'claims one user may send per window before 429 + Retry-After (0 = no limit)',
      }),
    ),
    windowMs: env(
      'CLAIM_RATE_LIMIT_WINDOW_MS',
      Type.Integer({
        minimum: 100,
        default: 10_000,
        description: 'window of the per-user claim rate limit, ms (Redis-backed when Redis is configured)',
      }),
    ),
  }),
  /** The throttle on guessing codes (src/http/failure-throttle.ts `codeFailureThrottle`); 0 disables a limit. */
  codeAttemptLimit: Type.Object({
    max: env(
      'CODE_ATTEMPT_LIMIT_MAX',
      Type.Integer({
        minimum: 0,
        default: 10,
        description:
          'redemptions and validations naming an unknown code one user may send per window before 429 (0 = no limit)',
      }),
    ),
    ipMax: env(
      'CODE_ATTEMPT_LIMIT_IP_MAX',
      Type.Integer({
        minimum: 0,
        default: 100,
        description: 'the same per client IP, for user tokens (0 = no limit); found codes never count',
      }),
    ),
    windowMs: env(
      'CODE_ATTEMPT_LIMIT_WINDOW_MS',
      Type.Integer({
        minimum: 100,
        default: 60_000,
        description: 'window of the unknown-code limits, ms (doubled by each attempt past a limit)',
      }),
    ),
  }),
  /** The throttle on failed logins (src/http/failure-throttle.ts); 0 disables a limit. */
  loginFailureLimit: Type.Object({
    max: env(
      'LOGIN_FAILURE_LIMIT_MAX',
      Type.Integer({
        minimum: 0,
        default: 10,
        description:
          'failed logins of one email per window before 429, the window doubling after (0 = no limit)',
      }),
    ),
    ipMax: env(
      'LOGIN_FAILURE_LIMIT_IP_MAX',
      Type.Integer({ minimum: 0, default: 50, description: 'the same per client IP (0 = no limit)' }),
    ),
    windowMs: env(
      'LOGIN_FAILURE_LIMIT_WINDOW_MS',
      Type.Integer({ minimum: 100, default: 60_000, description: 'window of the failed login limits, ms' }),
    ),
  }),
  /** Signups per client IP (src/http/rate-limit.ts `requestLimit`); the admin users API is not limited. */
  signupRateLimit: Type.Object({
    max: env(
      'SIGNUP_RATE_LIMIT_MAX',
      Type.Integer({
        minimum: 0,
        default: 20,
        description: 'signups one client IP may send per window before 429 (0 = no limit)',
      }),
    ),
    windowMs: env(
      'SIGNUP_RATE_LIMIT_WINDOW_MS',
      Type.Integer({ minimum: 100, default: 3_600_000, description: 'window of the signup limit, ms' }),
    ),
  }),
  /** The two-level campaign cache (src/campaigns/cache.ts); needs Redis. */
  campaignCache: Type.Object({
    enabled: env(
      'CAMPAIGN_CACHE_ENABLED',
      Type.Boolean({
        default: true,
        description:
          'campaign cache: in-process, then Redis when configured (without Redis, kept fresh by LISTEN/NOTIFY); claims it can refuse never reach the database',
      }),
    ),
    l1TtlMs: env(
      'CAMPAIGN_CACHE_L1_TTL_MS',
      Type.Integer({
        minimum: 0,
        default: 10_000,
        description: 'campaign cache level 1 (in-process LRU) time to live, ms',
      }),
    ),
    l2TtlSeconds: env(
      'CAMPAIGN_CACHE_L2_TTL_SECONDS',
      Type.Integer({
        minimum: 1,
        default: 1800,
        description: 'campaign cache level 2 (Redis) time to live, s',
      }),
    ),
    l1MaxEntries: env(
      'CAMPAIGN_CACHE_L1_MAX_ENTRIES',
      Type.Integer({
        minimum: 1,
        default: 10_000,
        description: 'campaigns kept in the in-process cache at most',
      }),
    ),
  }),
  /** Redis settings; `url` and `clusterNodes` are both undefined when no Redis is configured. */
  redis: Type.Object({
    url: env(
      'REDIS_URL',
      Type.Optional(
        Type.String({
          pattern: '^rediss?://',
          description: 'single-node Redis URL (redis-lock, redis-gate, caches)',
        }),
      ),
    ),
    /** Seed nodes of a Redis Cluster (host and port), or undefined for a single node. */
    clusterNodes: Type.Optional(env('REDIS_CLUSTER_NODES', HostPorts)),
    keyPrefix: env(
      'REDIS_KEY_PREFIX',
      Type.String({
        pattern: '^[A-Za-z0-9:_.-]*$',
        default: 'stampede:',
        description: 'prefix of every Redis key (a namespace per deployment or test)',
      }),
    ),
    lockLeaseMs: env(
      'REDIS_LOCK_LEASE_MS',
      Type.Integer({
        minimum: 50,
        default: 2000,
        description: 'redis-lock: lease of the per-campaign lock, ms (must be below DB_STATEMENT_TIMEOUT_MS)',
      }),
    ),
    lockWaitMs: env(
      'REDIS_LOCK_WAIT_MS',
      Type.Integer({
        minimum: 10,
        default: 5000,
        description: 'redis-lock: longest wait for the lock before a claim gets 503, ms',
      }),
    ),
    breakerFailures: env(
      'REDIS_BREAKER_FAILURES',
      Type.Integer({
        minimum: 1,
        default: 5,
        description: 'consecutive Redis failures that open the circuit breaker of the claim path',
      }),
    ),
    breakerHalfOpenMs: env(
      'REDIS_BREAKER_HALF_OPEN_MS',
      Type.Integer({
        minimum: 100,
        default: 5000,
        description: 'time an open Redis circuit breaker waits before letting one trial call through, ms',
      }),
    ),
  }),
  /** The redis-gate stream worker. */
  worker: Type.Object({
    inProcess: env(
      'WORKER_IN_PROCESS',
      Type.Boolean({
        default: true,
        description: 'redis-gate: run the stream worker inside `serve` (false = only `stampede worker`)',
      }),
    ),
    batchSize: env(
      'WORKER_BATCH_SIZE',
      Type.Integer({
        minimum: 1,
        maximum: 10000,
        default: 500,
        description: 'claims read from a campaign stream and persisted per transaction',
      }),
    ),
    claimIdleMs: env(
      'WORKER_CLAIM_IDLE_MS',
      Type.Integer({
        minimum: 10,
        default: 30000,
        description:
          'a stream entry unacked for this long is re-delivered to another worker (XAUTOCLAIM), ms',
      }),
    ),
    maxDeliveries: env(
      'WORKER_MAX_DELIVERIES',
      Type.Integer({
        minimum: 1,
        default: 5,
        description: 'deliveries of one claim before it becomes a dead letter',
      }),
    ),
    pollMs: env(
      'WORKER_POLL_MS',
      Type.Integer({
        minimum: 1,
        default: 20,
        description: 'pause of an idle worker between polls of the campaign streams, ms',
      }),
    ),
  }),
  /** Webhook endpoints and their dispatcher (src/webhooks/). */
  webhooks: Type.Object({
    allowPrivateUrls: env(
      'WEBHOOK_ALLOW_PRIVATE_URLS',
      Type.Boolean({
        default: false,
        description:
          'accept webhook endpoints on loopback, private and link-local addresses (refused by default: SSRF)',
      }),
    ),
    retryBaseMs: env(
      'WEBHOOK_RETRY_BASE_MS',
      Type.Integer({
        minimum: 1,
        default: 5000,
        description:
          'first retry delay of a failed webhook delivery, ms; scales the schedule 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h',
      }),
    ),
    timeoutMs: env(
      'WEBHOOK_TIMEOUT_MS',
      Type.Integer({
        minimum: 100,
        maximum: 60000,
        default: 15000,
        description: 'longest time of one webhook delivery request, ms',
      }),
    ),
    concurrency: env(
      'WEBHOOK_CONCURRENCY',
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: 16,
        description: 'webhook deliveries in flight at once per dispatcher (one in serve, one per worker)',
      }),
    ),
    pollMs: env(
      'WEBHOOK_POLL_MS',
      Type.Integer({
        minimum: 1,
        default: 500,
        description: 'pause of an idle webhook dispatcher between looks for due deliveries, ms',
      }),
    ),
    dispatch: env(
      'WEBHOOK_DISPATCH',
      Type.Boolean({
        default: true,
        description: 'run a webhook dispatcher in this process (serve and stampede worker)',
      }),
    ),
  }),
  /** Soft-deleted campaigns older than this are archived and can no longer be restored, s. */
  archiveAfterSeconds: env(
    'ARCHIVE_AFTER',
    DurationSeconds({
      default: '180d',
      description:
        'archive campaigns soft-deleted longer than this (and forbid their restore): 180d, 12h, 30m, 45s or seconds',
    }),
  ),
  /** Period of the in-process archival, s; 0 disables the schedule. */
  archiveIntervalSeconds: env(
    'ARCHIVE_INTERVAL',
    DurationSeconds({
      default: '90d',
      description: 'how often the in-process archival runs (90d = every 3 months, seed 004); 0 = never',
    }),
  ),
});

/** The parsed configuration. Durations carry their unit in the name. */
export type Config = StaticDecode<typeof ConfigSchema>;
/** Redis settings (see {@link ConfigSchema}). */
export type RedisConfig = Config['redis'];
/** Settings of the redis-gate stream worker. */
export type WorkerConfig = Config['worker'];
/** Webhook settings. */
export type WebhookConfig = Config['webhooks'];

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

/** A setting of the schema: its environment variable, where it sits in Config, and its schema. */
interface Setting {
  name: string;
  path: string[];
  schema: TSchema & { description?: string; default?: unknown; anyOf?: { const: string }[] };
}

/** Every setting of {@link ConfigSchema}, in declaration order. */
function settingsOf(schema: TSchema, path: string[] = []): Setting[] {
  const named = (schema as Record<string, unknown>)[ENV];
  if (typeof named === 'string') return [{ name: named, path, schema: schema as Setting['schema'] }];
  const properties = (schema as { properties?: Record<string, TSchema> }).properties ?? {};
  return Object.entries(properties).flatMap(([key, child]) => settingsOf(child, [...path, key]));
}

const SETTINGS = settingsOf(ConfigSchema);

/** Documented variables and their defaults, for `--help` texts and the README table. */
export const CONFIG_VARIABLES = SETTINGS.map(({ name, schema }) => ({
  name,
  description: schema.description ?? '',
  default: schema.default,
}));

/**
 * Parses the environment into a {@link Config}.
 *
 * @param environment the variables to read (defaults to `process.env`); empty strings count as unset.
 * @param options.requireJwtSecret false for processes that sign with a secret of their own
 *   (`simulate` runs its in-process server with a random one), so DATABASE_URL alone is enough.
 * @throws ConfigError naming the first bad variable.
 */
export function loadConfig(
  environment: NodeJS.ProcessEnv = process.env,
  options: { requireJwtSecret?: boolean } = {},
): Config {
  const raw: Record<string, unknown> = {};
  for (const { name, path } of SETTINGS) {
    // Every nested object is created, set or not, so that its defaults are filled in.
    const parent = objectAt(raw, path.slice(0, -1));
    const value = environment[name];
    if (value !== undefined && value !== '') parent[path.at(-1)!] = value;
  }
  const parsed = Value.Default(ConfigSchema, Value.Convert(ConfigSchema, raw));
  const firstError = Value.Errors(ConfigSchema, parsed)[0];
  if (firstError) {
    const setting = SETTINGS.find(({ path }) => `/${path.join('/')}` === firstError.instancePath);
    const variable = setting?.name ?? 'environment';
    const given = environment[variable];
    const shown = given
      ? ` (got ${JSON.stringify(/SECRET|PASSWORD/.test(variable) ? '<redacted>' : given)})`
      : '';
    const message = setting?.schema.anyOf
      ? `must be one of ${setting.schema.anyOf.map((s) => s.const).join(', ')}`
      : firstError.message;
    throw new ConfigError(variable, `${message}${shown}`);
  }
  const config = Value.Decode(ConfigSchema, parsed);
  for (const { path } of SETTINGS) {
    // Unset optional settings are present as undefined: every Config has the same keys.
    const parent = objectAt(config as Record<string, unknown>, path.slice(0, -1));
    if (!(path.at(-1)! in parent)) parent[path.at(-1)!] = undefined;
  }
  checkCombinations(config, options);
  return config;
}

/** The object at `path` below `root`, creating the missing levels. */
function objectAt(root: Record<string, unknown>, path: string[]): Record<string, unknown> {
  let node = root;
  for (const key of path) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  return node;
}

/** Rules between settings. @throws ConfigError naming the variable to change. */
function checkCombinations(config: Config, options: { requireJwtSecret?: boolean }): void {
  if (config.databaseUrl && !config.jwtSecret && options.requireJwtSecret !== false) {
    throw new ConfigError('JWT_SECRET', 'is required when DATABASE_URL is set (at least 32 characters)');
  }
  const { email, password } = config.firstAdmin;
  if ((email === undefined) !== (password === undefined)) {
    throw new ConfigError(
      email === undefined ? 'STAMPEDE_ADMIN_EMAIL' : 'STAMPEDE_ADMIN_PASSWORD',
      'set both STAMPEDE_ADMIN_EMAIL and STAMPEDE_ADMIN_PASSWORD, or neither',
    );
  }
  if (config.redis.url && config.redis.clusterNodes) {
    throw new ConfigError('REDIS_CLUSTER_NODES', 'set either REDIS_URL or REDIS_CLUSTER_NODES, not both');
  }
  const strategy = config.issuanceStrategy;
  if (strategy.startsWith('redis-') && !config.redis.url && !config.redis.clusterNodes) {
    throw new ConfigError(
      'REDIS_URL',
      `is required by ISSUANCE_STRATEGY=${strategy} (or set REDIS_CLUSTER_NODES)`,
    );
  }
  if (config.redis.lockLeaseMs >= config.dbStatementTimeoutMs) {
    // The lease must outlive nothing the lock protects: a statement still running after the
    // lease expired could overlap the next holder's (the DB constraints would still hold).
    throw new ConfigError(
      'REDIS_LOCK_LEASE_MS',
      `must be below DB_STATEMENT_TIMEOUT_MS (${config.dbStatementTimeoutMs})`,
    );
  }
}
