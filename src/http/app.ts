/**
 * The Stampede HTTP application as a Fastify instance, built from its dependencies. The server
 * (src/http/server.ts) only starts it; tests build it with a real database and use `inject` or
 * a listening port.
 *
 * Order: infrastructure (validation, errors, request ids, metrics, load shedding, auth, OpenAPI),
 * then domain services, then routes.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { archiveRoutes } from '../archive/routes.js';
import { authRoutes } from '../auth/routes.js';
import { CampaignCache } from '../campaigns/cache.js';
import { redisCampaignCacheStore } from '../campaigns/redis-cache-store.js';
import { activeCampaignStock, findCampaign } from '../campaigns/repository.js';
import { campaignRestoreRoute, campaignRoutes } from '../campaigns/routes.js';
import { CampaignService } from '../campaigns/service.js';
import { codeRoutes } from '../codes/routes.js';
import type { Config } from '../config.js';
import { couponRoutes } from '../coupons/routes.js';
import type { Database } from '../db/client.js';
import { withCachedPrecheck } from '../issuance/cached-precheck.js';
import { createStrategy } from '../issuance/factory.js';
import { claimRoutes } from '../issuance/routes.js';
import type { IssuanceStrategy } from '../issuance/strategies/types.js';
import { JobRunner } from '../jobs/runner.js';
import { instrumentStrategy } from '../metrics/instrument.js';
import { enableProcessMetrics, setRemainingStockSource, setStreamStatsSource } from '../metrics/metrics.js';
import { redemptionRoutes } from '../redemptions/routes.js';
import { openRedis, type RedisConnection, redisConfigured } from '../redis/connection.js';
import { streamStats } from '../worker/stream-stats.js';
import { registerAuth } from './auth.js';
import { registerErrorHandling } from './errors.js';
import { healthRoutes, type ReadinessCheck } from './health.js';
import { registerLoadShedding } from './load-shedding.js';
import { AccessLog, registerRequestId, requestIdOf } from './logging.js';
import { registerMetrics } from './metrics.js';
import { registerRateLimit } from './rate-limit.js';
import { ProblemSchema } from './schemas.js';
import { registerValidation } from './validation.js';

export interface Services {
  config: Config & { jwtSecret: string };
  database: Database;
  campaigns: CampaignService;
  issuance: IssuanceStrategy;
  /** The process's Redis connection when REDIS_URL or REDIS_CLUSTER_NODES is set (or one was given). */
  redis: RedisConnection | undefined;
  /** In-process background jobs (code generation, archival); stopped when the app closes. */
  jobs: JobRunner;
  /** The two-level campaign cache, when Redis is configured and the cache enabled. */
  campaignCache: CampaignCache | undefined;
  readinessChecks: ReadinessCheck[];
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

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
  });

  // The API speaks JSON only: any other body gets 415 rather than a confusing validation error.
  app.removeContentTypeParser('text/plain');
  registerValidation(app);
  registerErrorHandling(app);
  registerRequestId(app);
  if (config.metricsEnabled) {
    enableProcessMetrics();
    registerMetrics(app);
  }
  await registerLoadShedding(app, config.loadShedding);
  let redis = options.redis;
  if (!redis && redisConfigured(config.redis)) {
    const owned = openRedis(config.redis, 'api');
    app.addHook('onClose', () => owned.close());
    redis = owned;
  }
  await registerRateLimit(app, redis && { redis: redis.client, nameSpace: redis.keys.rateLimitNamespace });
  registerAuth(app, config.jwtSecret, config.jwtTtlSeconds);
  app.addSchema(ProblemSchema);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Stampede',
        version: '0.1.0',
        description:
          'Coupon service for first-come-first-served events. Errors are RFC 9457 application/problem+json.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    // Name shared components after their $id (Problem, Campaign, ...) instead of def-0, def-1.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
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
  let issuance = campaignCache
    ? withCachedPrecheck(strategy, campaignCache, (err) =>
        app.log.warn({ err }, 'campaign cache refresh failed'),
      )
    : strategy;
  if (config.metricsEnabled) {
    issuance = instrumentStrategy(issuance);
    const unsetSources = [setRemainingStockSource(() => activeCampaignStock(database.db))];
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

  await app.register(healthRoutes);
  await app.register(authRoutes);
  await app.register(campaignRoutes);
  await app.register(campaignRestoreRoute);
  await app.register(claimRoutes);
  await app.register(couponRoutes);
  await app.register(redemptionRoutes);
  await app.register(codeRoutes);
  await app.register(archiveRoutes);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
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
  if (!redis || !config.campaignCache.enabled) return undefined;
  const cache = new CampaignCache({
    load: (id) => findCampaign(database.db, id),
    store: redisCampaignCacheStore(redis),
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
