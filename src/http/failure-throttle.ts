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
 * Every attempt counts the moment it arrives (one atomic INCR) and is forgiven when it succeeds, so
 * a burst of concurrent attempts is held to the limit too: of 64 bogus logins sent at once from one
 * address, only `ipMax` reach the password hash. When Redis fails, attempts go through uncounted
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
  /** Counts one failure of `key`: a new window of `windowMs`, or a window grown past `max`. */
  record(key: string, max: number): Promise<FailureCount>;
  /** Takes back one failure of `key` (an attempt counted on arrival that succeeded); never below 0. */
  forgive(key: string): Promise<void>;
}

/**
 * Decrements a failure counter that exists and is positive; never creates one (a key that expired
 * meanwhile stays gone). KEYS[1]: the counter. Returns the new count, or 0.
 */
const FORGIVE_SCRIPT = `local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0`;

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
    forgive: async (key) => {
      await client.eval(FORGIVE_SCRIPT, 1, prefix + key);
    },
  };
}

/** Counters of this process only (no Redis): at most 100,000 keys, the least recent dropped first. */
export function localFailureCounter(windowMs: number): FailureCounter {
  const counts = new LRUCache<string, { failures: number; until: number }>({ max: 100_000 });
  return {
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
    forgive: async (key) => {
      const count = counts.get(key);
      if (count && count.until > Date.now() && count.failures > 0) count.failures -= 1;
    },
  };
}

/** One counter a request counts against: its key, its limit, and the word naming it in a 429. */
export interface ThrottleKey {
  key: string;
  max: number;
  scope: string;
}

/** The keys each throttled request counted on arrival, to forgive if it succeeds. */
const counted = new WeakMap<FastifyRequest, ThrottleKey[]>();

/**
 * Hooks that count only failures, race-free: `preHandler` counts the request against each of its
 * keys at once (atomic increment) and refuses it, with 429 `rate-limited` + `Retry-After`, when a
 * key goes past its limit (which also grows that key's window); `onResponse` forgives the request
 * on every key unless `failed` says it failed. So concurrent attempts cannot all slip in before
 * the first failure is counted.
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
  const forgive = (request: FastifyRequest, entries: ThrottleKey[]) =>
    Promise.all(entries.map(({ key }) => counter.forgive(key))).catch((error: unknown) => {
      request.log.warn({ err: error }, `${what}: attempt not forgiven`);
    });
  return {
    preHandler: async (request: FastifyRequest) => {
      const entries = keys(request);
      const done: ThrottleKey[] = [];
      for (const entry of entries) {
        let count: FailureCount;
        try {
          count = await counter.record(entry.key, entry.max);
        } catch (error) {
          // As for the other limits (skipOnError): a Redis failure lets the request through.
          request.log.warn({ err: error }, `${what} throttle unavailable`);
          await forgive(request, done);
          return;
        }
        if (count.failures > entry.max) {
          // This attempt stays counted on the key that refused it (the lock grows); the keys it
          // passed are given their count back: the request never runs.
          await forgive(request, done);
          metrics.rateLimited.inc({ route: request.routeOptions.url ?? 'unmatched' });
          throw new DomainError('rate-limited', `too many ${what} for this ${entry.scope}`, {
            retryAfterSeconds: Math.max(1, Math.ceil(count.ttlMs / 1000)),
          });
        }
        done.push(entry);
      }
      if (done.length > 0) counted.set(request, done);
    },
    onResponse: async (request: FastifyRequest, reply: FastifyReply) => {
      const entries = counted.get(request);
      if (!entries || failed(request, reply)) return;
      await forgive(request, entries);
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
