/**
 * `redis-lock`: a Redis lock per campaign (`SET <p>{c:<id>}:lock <token> NX PX <lease>`, released
 * by the compare-and-delete script releaseLock.lua: src/redis/mutex.ts), then the same database
 * work as db-atomic
 * (seeds 000/003/004). The lock is an optimisation — it keeps claims of one campaign from
 * contending inside PostgreSQL — never the only protection: the database constraints still
 * decide (DESIGN.md, "Defense in depth"), so a lease that expires mid-claim cannot over-issue.
 *
 * Waiting: claims of one campaign first queue in process (FIFO), so each process has at most one
 * claim per campaign polling Redis; that claim retries `SET NX` with the mutex's exponential
 * backoff and full jitter (2..50 ms). A claim that has not got the lock `lockWaitMs` after it arrived gets
 * `service-unavailable` with `Retry-After: 1` — the lock is congested, the client may retry.
 * The lease (`lockLeaseMs`) is below DB_STATEMENT_TIMEOUT_MS (enforced by loadConfig).
 */
import type { Db } from '../../db/client.js';
import { DomainError } from '../../errors.js';
import type { RedisBreaker } from '../../redis/breaker.js';
import type { RedisConnection } from '../../redis/connection.js';
import { acquireLock, releaseLock } from '../../redis/mutex.js';
import { DbAtomicStrategy } from './db-atomic.js';
import type { ClaimOutcome, ClaimRequest, IssuanceStrategy } from './types.js';

export interface RedisLockOptions {
  leaseMs: number;
  waitMs: number;
}

export class RedisLockStrategy implements IssuanceStrategy {
  readonly name = 'redis-lock' as const;
  private readonly inner: DbAtomicStrategy;
  /** Per campaign: the promise the next local claim waits for (in-process FIFO). */
  private readonly tails = new Map<string, Promise<void>>();

  constructor(
    db: Db,
    private readonly redis: RedisConnection,
    /** The circuit breaker of this strategy's Redis calls (state for metrics). */
    readonly breaker: RedisBreaker,
    private readonly options: RedisLockOptions,
  ) {
    this.inner = new DbAtomicStrategy(db);
  }

  async claim(request: ClaimRequest): Promise<ClaimOutcome> {
    const deadline = Date.now() + this.options.waitMs;
    const previous = this.tails.get(request.campaignId) ?? Promise.resolve();
    let done!: () => void;
    const tail = previous.then(() => new Promise<void>((resolve) => (done = resolve)));
    this.tails.set(request.campaignId, tail);
    await previous;
    try {
      const key = this.redis.keys.campaign(request.campaignId).lock;
      if (Date.now() >= deadline) throw this.congested();
      const token = await acquireLock(this.redis.client, key, {
        leaseMs: this.options.leaseMs,
        deadline,
        timeoutError: () => this.congested(),
        guard: (call) => this.breaker.run(call),
      });
      try {
        return await this.inner.claim(request);
      } finally {
        await releaseLock(this.redis.client, key, token);
      }
    } finally {
      done();
      if (this.tails.get(request.campaignId) === tail) this.tails.delete(request.campaignId);
    }
  }

  private congested(): DomainError {
    return new DomainError(
      'service-unavailable',
      `the campaign lock was not acquired within ${this.options.waitMs} ms`,
      { retryAfterSeconds: 1 },
    );
  }
}
