/**
 * The Stampede HTTP application as a Fastify instance, built from its dependencies. The server
 * (src/http/server.ts) only starts it; tests build it with a real database and use `inject` or
 * a listening port.
 *
 * Order: infrastructure (validation, errors, auth, OpenAPI), then domain services, then routes.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { archiveRoutes } from '../archive/routes.js';
import { authRoutes } from '../auth/routes.js';
import { campaignRestoreRoute, campaignRoutes } from '../campaigns/routes.js';
import { CampaignService } from '../campaigns/service.js';
import { codeRoutes } from '../codes/routes.js';
import type { Config } from '../config.js';
import { couponRoutes } from '../coupons/routes.js';
import type { Database } from '../db/client.js';
import { createDbStrategy } from '../issuance/factory.js';
import { claimRoutes } from '../issuance/routes.js';
import type { IssuanceStrategy } from '../issuance/strategies/types.js';
import { JobRunner } from '../jobs/runner.js';
import { redemptionRoutes } from '../redemptions/routes.js';
import { registerAuth } from './auth.js';
import { registerErrorHandling } from './errors.js';
import { healthRoutes, type ReadinessCheck } from './health.js';
import { ProblemSchema } from './schemas.js';
import { registerValidation } from './validation.js';

export interface Services {
  config: Config & { jwtSecret: string };
  database: Database;
  campaigns: CampaignService;
  issuance: IssuanceStrategy;
  /** In-process background jobs (code generation, archival); stopped when the app closes. */
  jobs: JobRunner;
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
  /** Fastify logger options; false (the default) for none. */
  logger?: FastifyServerOptions['logger'];
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, database } = options;
  const app = Fastify({
    logger: options.logger ?? false,
    // Behind a load balancer the request id should come from it; otherwise Fastify makes one.
    requestIdHeader: 'x-request-id',
    bodyLimit: 64 * 1024,
  });

  // The API speaks JSON only: any other body gets 415 rather than a confusing validation error.
  app.removeContentTypeParser('text/plain');
  registerValidation(app);
  registerErrorHandling(app);
  await registerAuth(app, config.jwtSecret, config.jwtTtlSeconds);
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
  const jobs = new JobRunner(database.db, (job, error) =>
    app.log.error({ err: error, jobId: job.id }, 'job failed'),
  );
  app.addHook('onClose', () => jobs.close());
  app.decorate('services', {
    config,
    database,
    campaigns,
    issuance: options.issuance ?? createDbStrategy(config.issuanceStrategy, database.db),
    jobs,
    readinessChecks: [{ name: 'database', check: database.ping }],
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
