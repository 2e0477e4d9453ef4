/**
 * The composition root: the Stampede HTTP application as a Fastify instance, built from its
 * dependencies. Only the CLI imports this folder; `serve` starts what it builds (server.ts), tests
 * build it with a real database and use `inject` or a listening port.
 *
 * Infrastructure plugins come first, each a named plugin that declares the plugins it needs
 * (Fastify checks the order at registration): error handling, validation, request ids, metrics,
 * load shedding, authentication, rate limit, OpenAPI. Then the domain services are built, then
 * each feature's routes are registered with exactly the services they use as plugin options.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { archiveRoutes } from '../archive/routes.js';
import { PrincipalCache } from '../auth/principals.js';
import { authRoutes } from '../auth/routes.js';
import { userRoutes } from '../auth/users-routes.js';
import { CampaignCache } from '../campaigns/cache.js';
import { databaseCampaignCacheStore } from '../campaigns/database-cache-store.js';
import { redisCampaignCacheStore } from '../campaigns/redis-cache-store.js';
import { activeCampaignStock, findCampaign } from '../campaigns/repository.js';
import { campaignRestoreRoute, campaignRoutes } from '../campaigns/routes.js';
import { CampaignService } from '../campaigns/service.js';
import { codeRoutes } from '../codes/routes.js';
import type { Config } from '../config.js';
import { couponRoutes } from '../coupons/routes.js';
import type { Database } from '../db/client.js';
import { deadLetterRoutes } from '../gate/routes.js';
import { streamStats } from '../gate/stream-stats.js';
import { authentication } from '../http/auth.js';
import { errorHandling, frameworkErrors } from '../http/errors.js';
import { failureCounter, throttleAuth } from '../http/failure-throttle.js';
import { healthRoutes, type ReadinessCheck } from '../http/health.js';
import { loadShedding } from '../http/load-shedding.js';
import { AccessLog, requestIdOf, requestIds } from '../http/logging.js';
import { httpMetrics } from '../http/metrics.js';
import { claimRateLimiter, rateLimit } from '../http/rate-limit.js';
import { ProblemSchema } from '../http/schemas.js';
import { validation } from '../http/validation.js';
import { withCachedPrecheck } from '../issuance/cached-precheck.js';
import { instrumentStrategy } from '../issuance/instrument.js';
import { withClaimRateLimit } from '../issuance/rate-limited.js';
import { claimRoutes } from '../issuance/routes.js';
import type { IssuanceStrategy } from '../issuance/strategies/types.js';
import { JobRunner } from '../jobs/runner.js';
import { memoryOutcomeCounters, redisOutcomeCounters } from '../live/counters.js';
import { claimOutcomeCounting } from '../live/counting.js';
import { liveRoutes } from '../live/routes.js';
import {
  enableProcessMetrics,
  setRemainingStockSource,
  setStreamStatsSource,
  setWebhookBacklogSource,
} from '../metrics/metrics.js';
import { redemptionRoutes } from '../redemptions/routes.js';
import { openRedis, type RedisConnection, redisConfigured } from '../redis/connection.js';
import { deliveryBacklog } from '../webhooks/repository.js';
import { webhookRoutes } from '../webhooks/routes.js';
import { consoleRoutes } from './console.js';
import { finishOpenApiDocument } from './openapi.js';
import type { Services } from './services.js';
import { createStrategy } from './strategy.js';

export interface AppOptions {
  config: Config & { jwtSecret: string };
  database: Database;
  /** Overrides the strategy built from `config.issuanceStrategy` (the Redis strategies come this way). */
  issuance?: IssuanceStrategy;
  /**
   * A Redis connection to use (the caller keeps ownership). Without it, one is opened from
   * `config.redis` when configured, and closed with the app.
   */
  redis?: RedisConnection;
  /** Fastify logger options; false (the default) for none. */
  logger?: FastifyServerOptions['logger'];
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, database } = options;
  const app = Fastify({
    logger: options.logger ?? false,
    // The request id comes from x-request-id when sane (see logging.ts), else a fresh UUID.
    requestIdHeader: false,
    genReqId: requestIdOf,
    logController: new AccessLog(),
    bodyLimit: 64 * 1024,
    frameworkErrors,
  });

  // The API speaks JSON only: any other body gets 415 rather than a confusing validation error.
  app.removeContentTypeParser('text/plain');
  await app.register(errorHandling);
  await app.register(validation);
  await app.register(requestIds);
  if (config.metricsEnabled) {
    enableProcessMetrics();
    await app.register(httpMetrics);
  }
  await app.register(loadShedding, config.loadShedding);
  let redis = options.redis;
  if (!redis && redisConfigured(config.redis)) {
    const owned = openRedis(config.redis, 'api');
    app.addHook('onClose', () => owned.close());
    redis = owned;
  }
  const principals = new PrincipalCache(database, (err) =>
    app.log.warn({ err }, 'principal notifications lost'),
  );
  await principals.start();
  app.addHook('onClose', () => principals.close());
  await app.register(authentication, {
    secret: config.jwtSecret,
    ttlSeconds: config.jwtTtlSeconds,
    directory: principals,
  });
  await app.register(rateLimit, {
    store: redis && { redis: redis.client, nameSpace: redis.keys.rateLimitNamespace },
  });
  app.addSchema(ProblemSchema);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Stampede',
        version: '0.1.0',
        description:
          'Coupon service for first-come-first-served events. Errors are RFC 9457 application/problem+json.',
        license: { name: 'MIT', url: 'https://opensource.org/license/mit' },
      },
      servers: [{ url: '/', description: 'the server that serves this document' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    // Name shared components after their $id (Problem, Campaign, ...) instead of def-0, def-1.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    // operationIds, descriptions, problem responses per status and public security: src/app/openapi.ts
    transformObject: (documentObject) =>
      finishOpenApiDocument(
        (documentObject as { openapiObject: { paths?: Record<string, Record<string, unknown>> } })
          .openapiObject,
      ) as never,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  const campaigns = new CampaignService(database.db);
  const strategy = options.issuance ?? createStrategy(config, database.db, redis);
  const readinessChecks: ReadinessCheck[] = [{ name: 'database', check: database.ping }];
  if (redis) readinessChecks.push({ name: 'redis', check: redis.ping });
  if (strategy.onCampaignChange) {
    const onChange = strategy.onCampaignChange.bind(strategy);
    campaigns.onChange(async (campaign) => {
      try {
        await onChange(campaign);
      } catch (error) {
        // The write is committed; the gate catches up at its next load. Logged loudly: until
        // then the gate may admit on stale state (the database constraints still hold).
        app.log.error({ err: error, campaignId: campaign.id }, 'campaign change did not reach the gate');
      }
    });
  }
  const campaignCache = await openCampaignCache(app, config, database, campaigns, redis);
  // A claim meets, in order: the campaign cache's rejections (memory), the per-user rate limit
  // (a Redis call, or none for redis-gate, whose script checks it), the strategy.
  const limit = strategy.limitsClaimRate ? undefined : claimRateLimiter(app, config.claimRateLimit);
  let issuance = limit ? withClaimRateLimit(strategy, limit) : strategy;
  if (campaignCache) {
    issuance = withCachedPrecheck(issuance, campaignCache, (err) =>
      app.log.warn({ err }, 'campaign cache refresh failed'),
    );
  }
  if (config.metricsEnabled) {
    issuance = instrumentStrategy(issuance);
    const unsetSources = [
      setRemainingStockSource(() => activeCampaignStock(database.db)),
      setWebhookBacklogSource(() => deliveryBacklog(database.db)),
    ];
    if (redis) unsetSources.push(setStreamStatsSource(() => streamStats(redis)));
    app.addHook('onClose', async () => {
      for (const unset of unsetSources) unset();
    });
  }
  const jobs = new JobRunner(database.db, (job, error) =>
    app.log.error({ err: error, jobId: job.id }, 'job failed'),
  );
  app.addHook('onClose', () => jobs.close());
  app.decorate('services', {
    config,
    database,
    campaigns,
    issuance,
    redis,
    campaignCache,
    jobs,
    readinessChecks,
  } satisfies Services);

  const { db } = database;
  const outcomeCounters = redis
    ? redisOutcomeCounters(redis, (err) => app.log.warn({ err }, 'live outcome counters: Redis failed'))
    : memoryOutcomeCounters();
  app.addHook('preClose', () => outcomeCounters.close());
  await app.register(claimOutcomeCounting, { counters: outcomeCounters });
  await app.register(healthRoutes, { readinessChecks });
  // The failure counters of logins and guessed codes (src/http/failure-throttle.ts): in Redis when
  // configured, shared by every process; in this process otherwise.
  const failureStore = redis && { client: redis.client, prefix: `${redis.keys.rateLimitNamespace}failures:` };
  // Failed logins and signups per IP are throttled around the auth routes.
  await app.register(async (scope) => {
    throttleAuth(scope, {
      login: config.loginFailureLimit,
      signup: config.signupRateLimit,
      store: failureStore,
    });
    await scope.register(authRoutes, {
      db,
      ttlSeconds: config.jwtTtlSeconds,
      refreshTtlSeconds: config.refreshTokenTtlSeconds,
    });
  });
  await app.register(userRoutes, { db, jwtSecret: config.jwtSecret, principals });
  // Reads come from the cache only with Redis (seed 003's two levels); without it they stay exact
  // (the cache still refuses claims).
  await app.register(campaignRoutes, { campaigns, campaignCache: redis ? campaignCache : undefined });
  await app.register(campaignRestoreRoute, { campaigns, archiveAfterSeconds: config.archiveAfterSeconds });
  await app.register(claimRoutes, { db, issuance });
  await app.register(couponRoutes, { db });
  await app.register(redemptionRoutes, {
    db,
    codeAttemptLimit: config.codeAttemptLimit,
    failures: failureCounter(failureStore, config.codeAttemptLimit.windowMs),
  });
  await app.register(codeRoutes, { db, jobs });
  await app.register(archiveRoutes, { db });
  await app.register(deadLetterRoutes, {
    db,
    gate:
      redis && config.issuanceStrategy === 'redis-gate'
        ? { redis, loadWaitMs: config.redis.lockWaitMs }
        : undefined,
  });
  await app.register(liveRoutes, { db, counters: outcomeCounters, redis });
  await app.register(webhookRoutes, { db, allowPrivateUrls: config.webhooks.allowPrivateUrls });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await consoleRoutes(app);
  return app;
}

/**
 * The campaign cache over `redis` (none without Redis, or when disabled): subscribed to other
 * processes' announcements, told of every committed write, closed with the app.
 */
async function openCampaignCache(
  app: FastifyInstance,
  config: Config,
  database: Database,
  campaigns: CampaignService,
  redis: RedisConnection | undefined,
): Promise<CampaignCache | undefined> {
  if (!config.campaignCache.enabled) return undefined;
  // Without Redis: no shared level 2, announcements by LISTEN/NOTIFY (or locally when embedded).
  const store = redis
    ? redisCampaignCacheStore(redis)
    : databaseCampaignCacheStore(database, (err) => app.log.warn({ err }, 'campaign cache: LISTEN failed'));
  const cache = new CampaignCache({
    load: (id) => findCampaign(database.db, id),
    store,
    l1TtlMs: config.campaignCache.l1TtlMs,
    l2TtlSeconds: config.campaignCache.l2TtlSeconds,
    l1MaxEntries: config.campaignCache.l1MaxEntries,
    onError: (err, operation) => app.log.warn({ err, operation }, 'campaign cache: Redis failed'),
  });
  await cache.start();
  app.addHook('onClose', () => cache.close());
  campaigns.onChange((campaign) => cache.written(campaign));
  return cache;
}
