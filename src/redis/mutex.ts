/**
 * A mutual-exclusion lock in Redis, the one used by the redis-lock strategy (a lock per campaign)
 * and by the redis-gate loader (a load lock per campaign): `SET <key> <token> NX PX <lease>` to
 * take it, the compare-and-delete script releaseLock.lua to give it back (only the holder's token
 * deletes it, so a holder whose lease expired cannot release its successor's lock).
 *
 * Waiting: attempts are spaced by exponential backoff with full jitter, a random pause between
 * {@link MIN_BACKOFF_MS} and min({@link MAX_BACKOFF_MS}, 2 ms × 2^attempt) — the schedule of
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/ — so waiters spread
 * out instead of retrying in lockstep, and none waits more than 50 ms past a release.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from './connection.js';
import { luaScript, runScript } from './scripts.js';

const releaseLockScript = luaScript(new URL('./scripts/', import.meta.url), 'releaseLock', 1);

/** Shortest pause between two attempts, ms. */
export const MIN_BACKOFF_MS = 2;
/** Longest pause between two attempts, ms. */
export const MAX_BACKOFF_MS = 50;

export interface AcquireOptions {
  /** Lease of the lock, ms: it expires by itself this long after it was taken. */
  leaseMs: number;
  /** Epoch time, ms, after which waiting stops with `timeoutError()`. */
  deadline: number;
  /** The error thrown once `deadline` has passed without the lock. */
  timeoutError: () => Error;
  /**
   * Asked before each attempt; true means the work the lock guards was done by another holder
   * (e.g. the gate got loaded), and {@link acquireLock} returns undefined without the lock.
   */
  notNeeded?: () => Promise<boolean>;
  /** Wraps each Redis call, e.g. in a circuit breaker. */
  guard?: <T>(call: () => Promise<T>) => Promise<T>;
}

/**
 * Waits for the lock `key` and returns the token that holds it, or undefined when
 * `options.notNeeded` said the lock is no longer needed.
 * @throws `options.timeoutError()` after `options.deadline`; a Redis error (or the guard's).
 */
export function acquireLock(
  client: RedisClient,
  key: string,
  options: Omit<AcquireOptions, 'notNeeded'>,
): Promise<string>;
export function acquireLock(
  client: RedisClient,
  key: string,
  options: AcquireOptions,
): Promise<string | undefined>;
export async function acquireLock(
  client: RedisClient,
  key: string,
  options: AcquireOptions,
): Promise<string | undefined> {
  const guard = options.guard ?? ((call) => call());
  const token = randomUUID();
  for (let attempt = 0; ; attempt++) {
    if (options.notNeeded && (await guard(options.notNeeded))) return undefined;
    const taken = await guard(() => client.set(key, token, 'PX', options.leaseMs, 'NX'));
    if (taken === 'OK') return token;
    const remaining = options.deadline - Date.now();
    if (remaining <= 0) throw options.timeoutError();
    const cap = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** attempt);
    await sleep(Math.min(remaining, MIN_BACKOFF_MS + Math.random() * cap));
  }
}

/**
 * Releases the lock if `token` still holds it. Never throws: a release that fails only delays the
 * next holder by the rest of the lease.
 * @returns true when this call deleted the lock.
 */
export async function releaseLock(client: RedisClient, key: string, token: string): Promise<boolean> {
  try {
    return (await runScript<number>(client, releaseLockScript, [key, token])) === 1;
  } catch {
    return false;
  }
}

/** The script, for the header check of the tests. */
export const MUTEX_SCRIPTS = [releaseLockScript] as const;
