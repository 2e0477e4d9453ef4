/**
 * The redis-gate stream worker: moves admitted claims from the campaign streams into PostgreSQL.
 *
 * - Discovery: campaign ids come from the stream registry set (`<p>campaigns:streams`), written
 *   when a gate is loaded or a campaign becomes active; re-read every 200 ms. Campaigns that are
 *   ended or deleted and whose stream is empty are removed from it.
 * - Reading: `XREADGROUP GROUP workers <consumer> COUNT <batch> STREAMS <stream> >` per campaign,
 *   `concurrency` loops per process (each its own batch in hand).
 * - Persisting: one SQL statement per batch (src/gate/persist.ts), then ackClaims.lua (XACK +
 *   XDEL + forget the pending records): a crash between COMMIT and XACK re-delivers the batch,
 *   which then inserts nothing. Only acked entries are ever deleted from a stream.
 * - When a batch statement fails, its claims are persisted one by one, so one poison entry
 *   cannot hold the others back; the failing entry stays pending.
 * - Re-delivery: `XAUTOCLAIM` takes over entries idle longer than `claimIdleMs` (a crashed or
 *   stuck worker, or a failed entry); at its `maxDeliveries`-th delivery a claim that still fails
 *   becomes a dead letter (with the error) and is acked.
 * - Shutdown: `stop()` lets every loop finish the batch in hand, then returns.
 */
import { randomUUID } from 'node:crypto';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import type { Logger } from 'pino';
import type { WorkerConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { metrics } from '../metrics/metrics.js';
import type { RedisConnection } from '../redis/connection.js';
import { runScript } from '../redis/scripts.js';
import { insertDeadLetter, persistBatch, type WorkItem } from './persist.js';
import { ackClaimsArgs, GATE_SCRIPTS, parsePendingRecord, WORKER_GROUP } from './scripts.js';
import { decodeStreamEntry, entryFields, STREAM_ENTRY_FIELDS } from './stream-entry.js';

/** How often the stream registry is re-read, ms: a new campaign waits at most this long. */
const DISCOVERY_INTERVAL_MS = 200;
/**
 * Pauses after failed iterations (Redis or the database down): 0.5 s, then growing about
 * twofold with decorrelated jitter up to 30 s (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 */
const ERROR_BACKOFF = new ExponentialBackoff({ initialDelay: 500, maxDelay: 30_000 });

type RawEntry = [id: string, fields: string[] | null];

export interface WorkerStats {
  persisted: number;
  deadLettered: number;
  batches: number;
  errors: number;
}

export interface StreamWorkerOptions {
  db: Db;
  redis: RedisConnection;
  config: WorkerConfig;
  /** Parallel read-persist-ack loops in this process. */
  concurrency?: number;
  /** Consumer name in the groups; unique per process by default. */
  consumer?: string;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export class StreamWorker {
  readonly consumer: string;
  readonly stats: WorkerStats = { persisted: 0, deadLettered: 0, batches: 0, errors: 0 };
  private readonly concurrency: number;
  private stopping = false;
  private loops: Promise<void>[] = [];
  private campaigns: string[] = [];
  private discoveredAt = 0;
  private discovery: Promise<void> | undefined;
  private readonly nextReclaim = new Map<string, number>();
  private readonly reclaimCursor = new Map<string, string>();
  private readonly wake = new Set<() => void>();
  private turn = 0;
  /** The back-off step all loops wait out after a failure; undefined while iterations succeed. */
  private failure: { backoff: IBackoff<unknown>; until: number } | undefined;

  constructor(private readonly options: StreamWorkerOptions) {
    this.consumer = options.consumer ?? `worker-${randomUUID()}`;
    this.concurrency = options.concurrency ?? 2;
  }

  start(): void {
    if (this.loops.length > 0) return;
    this.stopping = false;
    this.loops = Array.from({ length: this.concurrency }, (_, i) => this.loop(i));
  }

  /** Stops after the batches in hand are persisted and acked. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.wake) wake();
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async loop(index: number): Promise<void> {
    while (!this.stopping) {
      let worked = 0;
      try {
        await this.refreshCampaigns();
        // Loops start at different campaigns so several campaigns drain in parallel.
        const ids = this.campaigns;
        for (let i = 0; i < ids.length && !this.stopping; i++) {
          worked += await this.drainOnce(ids[(i + index + this.turn++) % ids.length]!);
        }
      } catch (error) {
        this.stats.errors++;
        await this.backOff(error);
        continue;
      }
      if (this.failure) {
        this.failure = undefined;
        this.options.logger?.info('worker recovered');
      }
      if (worked === 0) await this.pause(this.options.config.pollMs);
    }
  }

  /**
   * Waits out the current back-off step, starting the next one (and saying so, once per step,
   * not once per loop) when the current one is over.
   */
  private backOff(error: unknown): Promise<void> {
    const now = Date.now();
    if (!this.failure || now >= this.failure.until) {
      const backoff = this.failure ? this.failure.backoff.next(undefined) : ERROR_BACKOFF.next();
      this.failure = { backoff, until: now + backoff.duration };
      this.options.logger?.warn(
        { err: error, retryInMs: Math.round(backoff.duration) },
        'worker iteration failed; backing off',
      );
    }
    return this.pause(this.failure.until - now);
  }

  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake.add(done);
    });
  }

  private refreshCampaigns(): Promise<void> {
    if (Date.now() - this.discoveredAt < DISCOVERY_INTERVAL_MS) return Promise.resolve();
    this.discovery ??= (async () => {
      try {
        this.campaigns = await this.options.redis.client.smembers(this.options.redis.keys.streamRegistry);
        this.discoveredAt = Date.now();
      } finally {
        this.discovery = undefined;
      }
    })();
    return this.discovery;
  }

  /** One read (and, when due, one reclaim) on one campaign; returns entries handled. */
  async drainOnce(campaignId: string): Promise<number> {
    const { redis, config } = this.options;
    const keys = redis.keys.campaign(campaignId);
    let handled = 0;
    let reclaimed = false;
    if (Date.now() >= (this.nextReclaim.get(campaignId) ?? 0)) {
      reclaimed = true;
      this.nextReclaim.set(
        campaignId,
        Date.now() + Math.max(config.pollMs, Math.min(config.claimIdleMs / 2, 5000)),
      );
      handled += await this.reclaim(campaignId);
    }
    let reply: [string, RawEntry[]][] | null;
    try {
      reply = (await redis.client.xreadgroup(
        'GROUP',
        WORKER_GROUP,
        this.consumer,
        'COUNT',
        config.batchSize,
        'STREAMS',
        keys.stream,
        '>',
      )) as [string, RawEntry[]][] | null;
    } catch (error) {
      if (String(error).includes('NOGROUP')) {
        await this.forgetIfFinished(campaignId);
        return handled;
      }
      throw error;
    }
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) {
      if (reclaimed && handled === 0) await this.forgetIfFinished(campaignId);
      return handled;
    }
    await this.process(
      campaignId,
      entries.map(([entryId, fields]) => toItem(entryId, fields ?? [], 1)),
    );
    return handled + entries.length;
  }

  /** Takes over entries idle longer than claimIdleMs (XAUTOCLAIM) and processes them. */
  private async reclaim(campaignId: string): Promise<number> {
    const { redis, config } = this.options;
    const keys = redis.keys.campaign(campaignId);
    let reply: [string, RawEntry[], string[]?];
    try {
      reply = (await redis.client.xautoclaim(
        keys.stream,
        WORKER_GROUP,
        this.consumer,
        config.claimIdleMs,
        this.reclaimCursor.get(campaignId) ?? '0-0',
        'COUNT',
        config.batchSize,
      )) as [string, RawEntry[], string[]?];
    } catch (error) {
      if (String(error).includes('NOGROUP')) return 0;
      throw error;
    }
    const [cursor, entries, deleted = []] = reply;
    this.reclaimCursor.set(campaignId, cursor);
    if (deleted.length > 0) {
      // Entries deleted while pending (cannot happen through ackClaims.lua): just acknowledge them.
      await runScript(
        redis.client,
        GATE_SCRIPTS.ackClaims,
        ackClaimsArgs(
          keys,
          deleted.map((entryId) => ({ entryId, claimId: '' })),
        ),
      );
    }
    const live = entries.filter(([, fields]) => fields !== null);
    if (live.length === 0) return 0;
    const pending = (await redis.client.xpending(
      keys.stream,
      WORKER_GROUP,
      live[0]![0],
      live[live.length - 1]![0],
      live.length * 2,
      this.consumer,
    )) as [string, string, number, number][];
    const deliveries = new Map(pending.map(([id, , , count]) => [id, Number(count)]));
    await this.process(
      campaignId,
      live.map(([entryId, fields]) =>
        toItem(entryId, fields!, deliveries.get(entryId) ?? config.maxDeliveries),
      ),
    );
    return live.length;
  }

  /** Persists a batch, falling back to one claim at a time when the batch statement fails. */
  private async process(campaignId: string, items: WorkItem[]): Promise<void> {
    const { db } = this.options;
    const good: WorkItem[] = [];
    const failed: { item: WorkItem; error: string }[] = [];
    for (const item of items) {
      if (item.claim && item.claim.campaignId === campaignId) good.push(item);
      else failed.push({ item, error: 'malformed stream entry' });
    }
    const done: WorkItem[] = [];
    if (good.length > 0) {
      try {
        const result = await persistBatch(db, campaignId, good);
        this.stats.persisted += result.inserted;
        this.stats.deadLettered += result.deadLettered;
        metrics.deadLetters.inc(result.deadLettered);
        done.push(...good);
      } catch (batchError) {
        if (good.length === 1) failed.push({ item: good[0]!, error: errorText(batchError) });
        else {
          for (const item of good) {
            try {
              const result = await persistBatch(db, campaignId, [item]);
              this.stats.persisted += result.inserted;
              this.stats.deadLettered += result.deadLettered;
              metrics.deadLetters.inc(result.deadLettered);
              done.push(item);
            } catch (error) {
              failed.push({ item, error: errorText(error) });
            }
          }
        }
      }
    }
    const exhausted = failed.filter(({ item }) => item.deliveries >= this.options.config.maxDeliveries);
    if (exhausted.length > 0) {
      const positions = await this.positions(
        campaignId,
        exhausted.map(({ item }) => item),
      );
      for (const { item, error } of exhausted) {
        await insertDeadLetter(db, campaignId, item, error, positions.get(item.entryId));
        this.stats.deadLettered++;
        metrics.deadLetters.inc();
        done.push(item);
      }
      this.options.logger?.warn({ campaignId, count: exhausted.length }, 'claims moved to dead letters');
    }
    if (failed.length > exhausted.length) this.stats.errors += failed.length - exhausted.length;
    if (done.length > 0) {
      await runScript(
        this.options.redis.client,
        GATE_SCRIPTS.ackClaims,
        ackClaimsArgs(
          this.options.redis.keys.campaign(campaignId),
          done.map((item) => ({
            entryId: item.entryId,
            claimId: item.claim?.claimId ?? entryFields(item.fields)[STREAM_ENTRY_FIELDS.claimId] ?? '',
          })),
        ),
      );
    }
    this.stats.batches++;
  }

  /** Places in line of claims about to be dead-lettered, from their pending records. */
  private async positions(campaignId: string, items: WorkItem[]): Promise<Map<string, number>> {
    const withClaim = items.filter((item) => item.claim);
    if (withClaim.length === 0) return new Map();
    const records = await this.options.redis.client.hmget(
      this.options.redis.keys.campaign(campaignId).claims,
      ...withClaim.map((item) => item.claim!.claimId),
    );
    const result = new Map<string, number>();
    withClaim.forEach((item, i) => {
      const record = records[i];
      if (record) result.set(item.entryId, parsePendingRecord(record).position);
    });
    return result;
  }

  /** Drops a campaign from the registry when it can receive no more claims and has none pending. */
  private async forgetIfFinished(campaignId: string): Promise<void> {
    const { client, keys } = this.options.redis;
    const campaignKeys = keys.campaign(campaignId);
    const [status, length] = await Promise.all([
      client.hget(campaignKeys.gate, 'status'),
      client.xlen(campaignKeys.stream),
    ]);
    if ((status === 'ended' || status === 'gone') && length === 0) {
      await client.srem(keys.streamRegistry, campaignId);
    }
  }
}

function toItem(entryId: string, fields: string[], deliveries: number): WorkItem {
  return { entryId, fields, claim: decodeStreamEntry(fields), deliveries };
}

function errorText(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const message = error instanceof Error ? error.message : String(error);
  return cause instanceof Error ? `${message}: ${cause.message}` : message;
}
