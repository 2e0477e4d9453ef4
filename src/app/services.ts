/**
 * What the composition root builds for a process and keeps on the app as `app.services`: for the
 * commands that run beside the server (`serve` resumes jobs with it) and for tests. Routes never
 * read it: each feature's routes plugin gets what it needs as plugin options (src/app/build-app.ts).
 */
import type { CampaignCache } from '../campaigns/cache.js';
import type { CampaignService } from '../campaigns/service.js';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { ReadinessCheck } from '../http/health.js';
import type { IssuanceStrategy } from '../issuance/strategies/types.js';
import type { JobRunner } from '../jobs/runner.js';
import type { RedisConnection } from '../redis/connection.js';

export interface Services {
  config: Config & { jwtSecret: string };
  database: Database;
  campaigns: CampaignService;
  /** The strategy as the routes use it: decorated with the cache pre-check and metrics when on. */
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
