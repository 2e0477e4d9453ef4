/**
 * Throttles that count failures only: failed logins ({@link throttleAuth}, which also limits signups
 * per client IP through @fastify/rate-limit) and guessed codes ({@link codeFailureThrottle}).
 * Failed logins: only failures count, per email and per client IP; once a
 * key reaches its limit every attempt of it — right password or wrong — gets 429 `rate-limited`
 * with `Retry-After` until its window ends, and each attempt made meanwhile doubles the window
 * (growing back-off: windowMs × 2^(failures − max)). A successful login never counts. Refusals are
 * counted in `stampede_rate_limited_requests_total{route}`.
 *
 * Why not @fastify/rate-limit for logins, as for the other limits: it counts requests and cannot read a
 * counter without adding to it, so it cannot leave successes out. The counters here are one Redis
 * key per email or IP (`SET NX PX` + `INCR` in one MULTI, so a key never outlives its window) when
 * Redis is configured — shared by every process — and an in-process LRU cache otherwise.
 * A burst of concurrent attempts all pass before their failures are counted: the limit bounds
 * what follows the first wave, not the wave itself. When Redis fails, logins go through uncounted
 * (as `skipOnError` does for the other limits): the throttle protects, it never locks everyone out.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config.js';
import { DomainError } from '../errors.js';
import { metrics } from '../metrics/metrics.js';
import { requestLimit } from './rate-limit.js';

/** Failures of one key in its current window, and ms until that window ends. */
export interface FailureCount {
  failures: number;
  ttlMs: number;
}

/** Failure counters with windows that grow past `max`. */
export interface FailureCounter {
  /** The failures of `key` now (0 and 0 ms when it has none). */
  peek(key: string): Promise<FailureCount>;
  /** Counts one failure of `key`: a new window of `windowMs`, or a window grown past `max`. */
  record(key: string, max: number): Promise<FailureCount>;
}

/** The window after `failures` failures: `windowMs`, doubled for each failure beyond `max` (capped at 2^16). */
export function backoffMs(windowMs: number, failures: number, max: number): number {
  return windowMs * 2 ** Math.min(16, Math.max(0, failures - max));
}

/** Counters in Redis under `prefix`, shared by every process. */
export function redisFailureCounter(
  client: Redis | Cluster,
  prefix: string,
  windowMs: number,
): FailureCounter {
  return {
    peek: async (key) => {
      const [[, failures], [, ttl]] = (await client
        .multi()
        .get(prefix + key)
        .pttl(prefix + key)
        .exec()) as [[Error | null, string | null], [Error | null, number]];
      return failures === null
        ? { failures: 0, ttlMs: 0 }
        : { failures: Number(failures), ttlMs: Math.max(0, ttl) };
    },
    record: async (key, max) => {
      const replies = await client
        .multi()
        .set(prefix + key, '0', 'PX', windowMs, 'NX')
        .incr(prefix + key)
        .pttl(prefix + key)
        .exec();
      const failures = Number(replies?.[1]?.[1] ?? 0);
      if (failures <= max) return { failures, ttlMs: Math.max(0, Number(replies?.[2]?.[1] ?? 0)) };
      const ttlMs = backoffMs(windowMs, failures, max);
      await client.pexpire(prefix + key, ttlMs);
      return { failures, ttlMs };
    },
  };
}

/** Counters of this process only (no Redis): at most 100,000 keys, the least recent dropped first. */
export function localFailureCounter(windowMs: number): FailureCounter {
  const counts = new LRUCache<string, { failures: number; until: number }>({ max: 100_000 });
  return {
    peek: async (key) => {
      const count = counts.get(key);
      const ttlMs = count ? count.until - Date.now() : 0;
      return count && ttlMs > 0 ? { failures: count.failures, ttlMs } : { failures: 0, ttlMs: 0 };
    },
    record: async (key, max) => {
      const now = Date.now();
      const count = counts.get(key);
      const failures = count && count.until > now ? count.failures + 1 : 1;
      const until =
        failures === 1
          ? now + windowMs
          : failures > max
            ? now + backoffMs(windowMs, failures, max)
            : count!.until;
      counts.set(key, { failures, until });
      return { failures, ttlMs: until - now };
    },
  };
}

/** One counter a request counts against: its key, its limit, and the word naming it in a 429. */
export interface ThrottleKey {
  key: string;
  max: number;
  scope: string;
}

/**
 * Hooks that count only failures: `preHandler` refuses a request whose key has reached its limit
 * (and grows that key's window), `onResponse` counts a failed request against each of its keys.
 * @param keys the keys of a request (none: not throttled).
 * @param failed whether the answered request was a failure.
 * @param what words for the 429 detail: `too many ${what} for this ${scope}`.
 */
export function failureThrottle(
  counter: FailureCounter,
  keys: (request: FastifyRequest) => ThrottleKey[],
  failed: (request: FastifyRequest, reply: FastifyReply) => boolean,
  what: string,
) {
  return {
    preHandler: async (request: FastifyRequest) => {
      for (const { key, max, scope } of keys(request)) {
        let ttlMs: number;
        try {
          if ((await counter.peek(key)).failures < max) continue;
          ttlMs = (await counter.record(key, max)).ttlMs;
        } catch (error) {
          // As for the other limits (skipOnError): a Redis failure lets the request through.
          request.log.warn({ err: error }, `${what} throttle unavailable`);
          return;
        }
        metrics.rateLimited.inc({ route: request.routeOptions.url ?? 'unmatched' });
        throw new DomainError('rate-limited', `too many ${what} for this ${scope}`, {
          retryAfterSeconds: Math.max(1, Math.ceil(ttlMs / 1000)),
        });
      }
    },
    onResponse: async (request: FastifyRequest, reply: FastifyReply) => {
      if (!failed(request, reply)) return;
      try {
        await Promise.all(keys(request).map(({ key, max }) => counter.record(key, max)));
      } catch (error) {
        request.log.warn({ err: error }, `${what}: failure not counted`);
      }
    },
  };
}

/**
 * The hooks of the login route ({@link failureThrottle}): a 401 answer counts as a failure of the
 * email (compared in lower case) and of the client IP.
 */
export function loginThrottle(counter: FailureCounter, options: Config['loginFailureLimit']) {
  const keys = (request: FastifyRequest) => {
    const email = String((request.body as { email?: unknown } | undefined)?.email ?? '').toLowerCase();
    return [
      { key: `login:email:${email}`, max: options.max, scope: 'email' },
      { key: `login:ip:${request.ip}`, max: options.ipMax, scope: 'IP' },
    ].filter(({ max }) => max > 0);
  };
  return failureThrottle(counter, keys, (_request, reply) => reply.statusCode === 401, 'failed logins');
}

/** Requests that named a code no coupon or campaign has (set by the redemption routes). */
const codeMisses = new WeakSet<FastifyRequest>();

/** Marks `request` as a guess that missed: it named a code that does not exist. */
export function markCodeMiss(request: FastifyRequest): void {
  codeMisses.add(request);
}

/**
 * The counters of code guessing: a redemption or validation naming a code that does not exist
 * ({@link markCodeMiss}) counts as a failure of the acting user and, for user tokens, of the
 * client IP. Found codes never count, whatever the answer (expired, already redeemed, redeemed),
 * so a shopper redeeming many real codes is never held back. Requests without a code are not
 * throttled (a coupon id cannot be guessed usefully: it is the owner's).
 * @param actingUser the user a request acts for (src/http/auth.ts `actingUserId`).
 */
export function codeFailureThrottle(
  counter: FailureCounter,
  options: Config['codeAttemptLimit'],
  actingUser: (request: FastifyRequest) => string,
) {
  const keys = (request: FastifyRequest): ThrottleKey[] => {
    if ((request.body as { code?: unknown } | undefined)?.code === undefined) return [];
    const found: ThrottleKey[] = [];
    if (options.max > 0)
      found.push({ key: `codes:user:${actingUser(request)}`, max: options.max, scope: 'user' });
    if (options.ipMax > 0 && request.user.role === 'user') {
      found.push({ key: `codes:ip:${request.ip}`, max: options.ipMax, scope: 'IP' });
    }
    return found;
  };
  return failureThrottle(counter, keys, (request) => codeMisses.has(request), 'unknown codes');
}

/** Failure counters under `prefix` in Redis when `store` is given (every process), else in this process. */
export function failureCounter(
  store: { client: Redis | Cluster; prefix: string } | undefined,
  windowMs: number,
): FailureCounter {
  return store ? redisFailureCounter(store.client, store.prefix, windowMs) : localFailureCounter(windowMs);
}

/** The routes {@link throttleAuth} guards. */
const LOGIN_ROUTE = '/v1/auth/login';
const SIGNUP_ROUTE = '/v1/auth/signup';

/**
 * Installs, in `scope` (the plugin the auth routes are registered in), the throttle on failed
 * logins ({@link loginThrottle}) and the limit on signups per client IP ({@link requestLimit});
 * other routes of the scope, such as the admin users API, are left alone. Counters live in
 * `store` (Redis) when given, else in this process.
 */
export function throttleAuth(
  scope: FastifyInstance,
  options: {
    login: Config['loginFailureLimit'];
    signup: Config['signupRateLimit'];
    store: { client: Redis | Cluster; prefix: string } | undefined;
  },
): void {
  const { login, signup, store } = options;
  const counter = failureCounter(store, login.windowMs);
  const logins = loginThrottle(counter, login);
  const signups =
    signup.max > 0
      ? requestLimit(scope, {
          max: signup.max,
          windowMs: signup.windowMs,
          key: (request) => `signups:ip:${request.ip}`,
          what: 'signups per IP',
        })
      : undefined;
  scope.addHook('preHandler', async (request) => {
    if (request.routeOptions.url === LOGIN_ROUTE) await logins.preHandler(request);
    else if (request.routeOptions.url === SIGNUP_ROUTE) await signups?.(request);
  });
  scope.addHook('onResponse', async (request, reply) => {
    if (request.routeOptions.url === LOGIN_ROUTE) await logins.onResponse(request, reply);
  });
}
