/**
 * Claim outcome counters for the live view: how many claims of a campaign were answered issued,
 * sold out, already claimed or rate limited. With Redis they are one hash per campaign
 * (`{c:<id>}:outcomes`) that every API process adds to, so the live view is right whichever
 * process serves it; without Redis (the embedded single process) they are this process's own.
 *
 * Counting stays off the claim's path: increments gather in memory and are flushed every
 * {@link FLUSH_INTERVAL_MS}, one HINCRBY per (campaign, outcome) that changed.
 */
import type { RedisConnection } from '../redis/connection.js';

/** The outcomes the live view shows; anything else a claim can answer is not counted. */
export const LIVE_OUTCOMES = ['issued', 'sold-out', 'already-claimed', 'rate-limited'] as const;
export type LiveOutcome = (typeof LIVE_OUTCOMES)[number];
export type OutcomeTotals = Record<LiveOutcome, number>;

export interface OutcomeCounters {
  /** Counts one claim of `campaignId` answered with `outcome` (never throws, never waits). */
  add(campaignId: string, outcome: LiveOutcome): void;
  /** Totals so far of every outcome of `campaignId`. @throws when Redis cannot be reached. */
  read(campaignId: string): Promise<OutcomeTotals>;
  /** Flushes what is pending and stops. */
  close(): Promise<void>;
}

/** How often gathered increments reach Redis, ms: well under the live view's 1 s tick. */
export const FLUSH_INTERVAL_MS = 200;
/** Counters of a campaign nobody claimed for this long are dropped by Redis, s. */
const IDLE_TTL_SECONDS = 7 * 24 * 3600;

const zero = (): OutcomeTotals => ({ issued: 0, 'sold-out': 0, 'already-claimed': 0, 'rate-limited': 0 });

/** Counters kept in this process only (no Redis). */
export function memoryOutcomeCounters(): OutcomeCounters {
  const totals = new Map<string, OutcomeTotals>();
  return {
    add(campaignId, outcome) {
      const campaign = totals.get(campaignId) ?? zero();
      campaign[outcome] += 1;
      totals.set(campaignId, campaign);
    },
    read: async (campaignId) => ({ ...(totals.get(campaignId) ?? zero()) }),
    close: async () => {},
  };
}

/**
 * Counters shared by every process through Redis. A failed flush keeps its increments for the next
 * one and reports through `onError`.
 */
export function redisOutcomeCounters(
  redis: RedisConnection,
  onError: (error: unknown) => void = () => {},
): OutcomeCounters {
  let pending = new Map<string, OutcomeTotals>();
  const flush = async () => {
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    await Promise.all(
      [...batch].map(async ([campaignId, counts]) => {
        const key = redis.keys.campaign(campaignId).outcomes;
        try {
          const changed = LIVE_OUTCOMES.filter((outcome) => counts[outcome] > 0);
          await Promise.all(changed.map((outcome) => redis.client.hincrby(key, outcome, counts[outcome])));
          await redis.client.expire(key, IDLE_TTL_SECONDS);
        } catch (error) {
          // Put them back: counts are never lost while the process lives.
          const again = pending.get(campaignId) ?? zero();
          for (const outcome of LIVE_OUTCOMES) again[outcome] += counts[outcome];
          pending.set(campaignId, again);
          onError(error);
        }
      }),
    );
  };
  const timer = setInterval(() => void flush(), FLUSH_INTERVAL_MS);
  timer.unref();
  return {
    add(campaignId, outcome) {
      const counts = pending.get(campaignId) ?? zero();
      counts[outcome] += 1;
      pending.set(campaignId, counts);
    },
    async read(campaignId) {
      const stored = await redis.client.hgetall(redis.keys.campaign(campaignId).outcomes);
      const totals = zero();
      for (const outcome of LIVE_OUTCOMES) totals[outcome] = Number(stored[outcome] ?? 0);
      return totals;
    },
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
