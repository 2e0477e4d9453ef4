/**
 * Rate limits (@fastify/rate-limit). Claims: a user — the caller itself, or the shop user an
 * admin/service token claims for — may send `max` claims (CLAIM_RATE_LIMIT_MAX) per window
 * (CLAIM_RATE_LIMIT_WINDOW_MS, a fixed window opened by the user's first counted claim); the next
 * get 429 `rate-limited` problem+json with `Retry-After` (the rest of the window, s), counted in
 * `stampede_rate_limited_requests_total{route}` (by the claim route). Impatient retries of a
 * flash sale then cost one counter increment instead of a strategy call.
 *
 * What counts: a claim that passed authentication, validation and the campaign cache's fast
 * rejections (unknown, not active, outside the window, sold out: src/issuance/cached-precheck.ts).
 * Those rejections are answered from memory, before any rate-limit call to Redis, and do not
 * count: refusing them costs less than counting them would. Every claim that reaches the strategy
 * counts, whatever the strategy answers (issued, already-claimed, sold-out); a refused one does
 * not change the outcome of later ones (fixed window).
 *
 * Where it is checked: for the database strategies and redis-lock, by {@link claimRateLimiter}
 * around the strategy (src/issuance/rate-limited.ts), one @fastify/rate-limit store call per
 * claim. redis-gate checks and counts it inside its admission script (src/gate/scripts/
 * admitClaims.lua), in the same call as the claims of its batch: no extra round trip. The
 * gate's differences: its counter is per user *and campaign* (`<p>{c:<id>}:ratelimit:<userId>`,
 * under the campaign's hash tag so the script can touch it on Redis Cluster), so a user may send
 * `max` claims to each campaign; a Redis failure fails the claim with the gate
 * (`service-unavailable`) rather than letting it through; and a refused claim does not add to the
 * counter (no observable difference in a fixed window).
 *
 * The counters live in Redis when the process has a Redis connection, so the limit holds across
 * every API process; without Redis each process counts alone. A Redis failure lets the request
 * through (`skipOnError`): the limit protects capacity, correctness never depends on it.
 */
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { DomainError } from '../errors.js';
import { metrics } from '../metrics/metrics.js';

/** Where the counters live: Redis (shared by every process) or, without it, this process. */
export interface RateLimitStore {
  store?:
    | { redis: NonNullable<Parameters<typeof fastifyRateLimit>[1]>['redis']; nameSpace: string }
    | undefined;
}

/**
 * The rate limiter (plugin `stampede-rate-limit`); limits are made with {@link claimRateLimiter}
 * and {@link requestLimit}.
 */
export const rateLimit = fp(installRateLimit, {
  name: 'stampede-rate-limit',
  dependencies: ['stampede-errors', 'stampede-auth'],
});

async function installRateLimit(app: FastifyInstance, { store }: RateLimitStore): Promise<void> {
  await app.register(fastifyRateLimit, {
    // No route-level limits: each limit is a function built with createRateLimit, called where
    // the order of the checks wants it (see the functions below).
    global: false,
    skipOnError: true,
    ...(store ? { redis: store.redis, nameSpace: store.nameSpace } : {}),
  });
}

/** The per-user claim limit as a function of the acting user id: resolves, or throws 429. */
export type ClaimRateLimiter = (userId: string) => Promise<void>;

/**
 * The per-user claim limit, checked on the strategy's way in (src/issuance/rate-limited.ts) so
 * that the campaign cache's rejections come first: each call counts one claim of `userId` in
 * @fastify/rate-limit's store (Redis when configured).
 * @returns the limiter, or undefined when `max` is 0.
 * @throws (the limiter) DomainError `rate-limited` with `retryAfterSeconds` past `max` claims.
 */
export function claimRateLimiter(
  app: FastifyInstance,
  options: Config['claimRateLimit'],
): ClaimRateLimiter | undefined {
  if (options.max <= 0) return undefined;
  const check = app.createRateLimit({
    max: options.max,
    timeWindow: options.windowMs,
    keyGenerator: (request) => `claims:${(request as unknown as { userId: string }).userId}`,
  });
  return async (userId) => {
    // createRateLimit takes a request but reads only `routeOptions.config` (a route's groupId) and
    // what keyGenerator reads; the claim is past the HTTP layer here, so it gets just those.
    const limit = await check({ routeOptions: { config: {} }, userId } as unknown as FastifyRequest);
    if (limit.isAllowed || !limit.isExceeded) return;
    throw new DomainError(
      'rate-limited',
      `at most ${limit.max} claims per user in ${options.windowMs / 1000} s`,
      {
        retryAfterSeconds: Math.max(1, limit.ttlInSeconds),
      },
    );
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
