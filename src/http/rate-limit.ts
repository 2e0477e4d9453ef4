/**
 * Per-user rate limiting of claims (@fastify/rate-limit): a user — the caller itself, or the
 * shop user an admin/service token claims for — may send `max` claims per window; the next get
 * 429 `rate-limited` problem+json with `Retry-After`, counted in
 * `stampede_rate_limited_requests_total{route}`. Impatient retries of a flash sale then cost one
 * counter increment instead of a strategy call.
 *
 * The counters live in Redis when the process has a Redis connection, so the limit holds across
 * every API process; without Redis each process counts alone. A Redis failure lets the request
 * through (`skipOnError`): the limit protects capacity, correctness never depends on it.
 */
import fastifyRateLimit, { type RateLimitOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { DomainError } from '../errors.js';
import { metrics } from '../metrics/metrics.js';
import { actingUserId } from './auth.js';

/** Where the counters live: Redis (shared by every process) or, without it, this process. */
export interface RateLimitStore {
  store?:
    | { redis: NonNullable<Parameters<typeof fastifyRateLimit>[1]>['redis']; nameSpace: string }
    | undefined;
}

/** The rate limiter (plugin `stampede-rate-limit`); routes opt in with {@link claimRateLimit}. */
export const rateLimit = fp(installRateLimit, {
  name: 'stampede-rate-limit',
  dependencies: ['stampede-errors', 'stampede-auth'],
});

async function installRateLimit(app: FastifyInstance, { store }: RateLimitStore): Promise<void> {
  await app.register(fastifyRateLimit, {
    global: false,
    // After authentication and body parsing: the key is the acting user, which may be in the body.
    hook: 'preHandler',
    skipOnError: true,
    ...(store ? { redis: store.redis, nameSpace: store.nameSpace } : {}),
    onExceeded: (request: FastifyRequest) => {
      metrics.rateLimited.inc({ route: request.routeOptions.url ?? 'unmatched' });
    },
    errorResponseBuilder: (_request, context) =>
      new DomainError('rate-limited', `at most ${context.max} claims per user in ${context.after}`, {
        retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  });
}

/** Route config of the claim route: the per-user limit, or none when `max` is 0. */
export function claimRateLimit(options: Config['claimRateLimit']): { rateLimit?: RateLimitOptions } {
  if (options.max <= 0) return {};
  return {
    rateLimit: {
      max: options.max,
      timeWindow: options.windowMs,
      keyGenerator: (request) =>
        `claims:${actingUserId(request.user, (request.body as { userId?: string } | undefined)?.userId)}`,
    },
  };
}
