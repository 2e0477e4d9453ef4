/**
 * Rate limits (@fastify/rate-limit). Claims: a user — the caller itself, or the
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

/**
 * The rate limiter (plugin `stampede-rate-limit`); routes opt in with {@link claimRateLimit} or
 * {@link requestLimit}.
 */
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

/**
 * A request limit as a hook, through @fastify/rate-limit's `createRateLimit` (its store: Redis
 * when configured): each request the hook sees counts against `key(request)`; past `max` in
 * `windowMs` it throws 429 `rate-limited` with `Retry-After`, naming `what` ("code attempts per
 * user"), and counts the refusal in `stampede_rate_limited_requests_total{route}`.
 */
export function requestLimit(
  app: FastifyInstance,
  options: { max: number; windowMs: number; key: (request: FastifyRequest) => string; what: string },
): (request: FastifyRequest) => Promise<void> {
  const check = app.createRateLimit({
    max: options.max,
    timeWindow: options.windowMs,
    keyGenerator: options.key,
  });
  return async (request) => {
    const limit = await check(request);
    if (limit.isAllowed || !limit.isExceeded) return;
    metrics.rateLimited.inc({ route: request.routeOptions.url ?? 'unmatched' });
    throw new DomainError(
      'rate-limited',
      `at most ${limit.max} ${options.what} in ${options.windowMs / 1000} s`,
      {
        retryAfterSeconds: Math.max(1, limit.ttlInSeconds),
      },
    );
  };
}
