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
 * - Every entry ends as a coupon or a dead letter, whatever it holds (src/gate/persist.ts
 *   `insertDeadLetter` makes any text storable). At once: the entries of a campaign the database
 *   does not know (`campaign-unknown`: Redis state of another database or of a restored one) and
 *   entries that could never be a coupon (`malformed-entry`, src/gate/stream-entry.ts).
 * - When a batch statement fails, its claims are persisted one by one, so one poison entry
 *   cannot hold the others back; the failing entry stays pending.
 * - Re-delivery: `XAUTOCLAIM` takes over entries idle longer than `claimIdleMs` (a crashed or
 *   stuck worker, or a failed entry); at its `maxDeliveries`-th delivery a claim that still fails
 *   becomes a dead letter (`persist-failed`, with the error) and is acked.
 * - Shutdown: `stop()` lets every loop finish the batch in hand, then returns.
 */
import { randomUUID } from 'node:crypto';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { WorkerConfig } from '../config.js';
import { type Db, queryRows } from '../db/client.js';
import { isUuid } from '../db/ids.js';
import type { DeadLetterReason } from '../issuance/claims.js';
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
  private readonly knownCampaigns = new Set<string>();
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
    if (!isUuid(campaignId)) {
      // Not a campaign of any database (campaign ids are UUIDs): nothing of it could be stored.
      this.options.logger?.error({ campaignId }, 'stream registry member is not a campaign id; dropped');
      await redis.client.srem(redis.keys.streamRegistry, campaignId);
      return 0;
    }
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

  /**
   * Settles a batch: every entry becomes a coupon or a dead letter, and the settled ones are
   * acknowledged together. Entries of a campaign the database does not know, and entries that
   * could never be a coupon, are dead-lettered at once; the rest are persisted in one statement,
   * or one by one when it fails, a claim the database refuses becoming a dead letter at its
   * `maxDeliveries`-th delivery. A dead letter that cannot be written (the database is down)
   * leaves only its own entry pending.
   */
  private async process(campaignId: string, items: WorkItem[]): Promise<void> {
    const letters: { item: WorkItem; reason: DeadLetterReason; detail: string }[] = [];
    const done: WorkItem[] = [];
    if (!(await this.isKnownCampaign(campaignId))) {
      for (const item of items) {
        letters.push({
          item,
          reason: 'campaign-unknown',
          detail: `campaign ${campaignId} is not in the database`,
        });
      }
    } else {
      const good: WorkItem[] = [];
      for (const item of items) {
        if (item.claim && item.claim.campaignId === campaignId) good.push(item);
        else letters.push({ item, reason: 'malformed-entry', detail: 'malformed stream entry' });
      }
      for (const { item, error } of await this.persist(campaignId, good, done)) {
        if (item.deliveries >= this.options.config.maxDeliveries) {
          letters.push({ item, reason: 'persist-failed', detail: errorText(error) });
        } else this.stats.errors++;
      }
    }
    if (letters.length > 0) {
      const positions = await this.positions(
        campaignId,
        letters.map(({ item }) => item),
      );
      for (const { item, reason, detail } of letters) {
        try {
          await insertDeadLetter(
            this.options.db,
            campaignId,
            item,
            reason,
            detail,
            positions.get(item.entryId),
          );
        } catch (error) {
          this.stats.errors++;
          this.options.logger?.error(
            { err: error, campaignId, entryId: item.entryId },
            'dead letter not written',
          );
          continue;
        }
        this.stats.deadLettered++;
        metrics.deadLetters.inc();
        done.push(item);
      }
      this.options.logger?.warn(
        { campaignId, count: letters.length, reason: letters[0]!.reason },
        'claims moved to dead letters',
      );
    }
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

  /**
   * Persists well-formed claims in one statement, or one by one when it fails; the persisted
   * ones are pushed to `done`.
   * @returns the claims the database refused, with its error.
   */
  private async persist(
    campaignId: string,
    good: WorkItem[],
    done: WorkItem[],
  ): Promise<{ item: WorkItem; error: unknown }[]> {
    const refused: { item: WorkItem; error: unknown }[] = [];
    const groups = good.length === 0 ? [] : [good];
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i]!;
      try {
        const result = await persistBatch(this.options.db, campaignId, group);
        this.stats.persisted += result.inserted;
        this.stats.deadLettered += result.deadLettered;
        metrics.deadLetters.inc(result.deadLettered);
        done.push(...group);
      } catch (error) {
        if (group.length === 1) refused.push({ item: group[0]!, error });
        else groups.push(...group.map((item) => [item]));
      }
    }
    return refused;
  }

  /**
   * True when the database has the campaign. Known ones are remembered: a campaign row leaves
   * only by archival, months after its soft delete, when no claim can reach its stream (and one
   * that did would still be dead-lettered by persistBatch, as a slot it cannot take).
   */
  private async isKnownCampaign(campaignId: string): Promise<boolean> {
    if (this.knownCampaigns.has(campaignId)) return true;
    if (!isUuid(campaignId)) return false;
    const rows = await queryRows(this.options.db, sql`SELECT 1 FROM campaigns WHERE id = ${campaignId}`);
    if (rows.length > 0) this.knownCampaigns.add(campaignId);
    return rows.length > 0;
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

/**
 * The text of a persist error for its dead letter: the database's own message first, then the
 * driver's (which quotes the whole statement), so the reason survives the cut at 2,000 characters.
 */
function errorText(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const message = error instanceof Error ? error.message : String(error);
  return cause instanceof Error ? `${cause.message} (${message})` : message;
}
