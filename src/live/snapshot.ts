/**
 * One reading of a campaign for the live view, from the shared state only — the campaign row and
 * its coupons in the database, the outcome counters and the redis-gate stream in Redis — so it is
 * the same whichever API process serves it. Rates come from the difference of two readings.
 */
import { sql } from 'drizzle-orm';
import { asDate, asDateOrNull, type Db, queryRows } from '../db/client.js';
import { DomainError } from '../errors.js';
import { campaignStreamStats } from '../gate/stream-stats.js';
import type { RedisConnection } from '../redis/connection.js';
import { LIVE_OUTCOMES, type OutcomeCounters, type OutcomeTotals } from './counters.js';

export interface LiveReading {
  /** Database clock at the reading. */
  at: Date;
  status: string;
  totalQuantity: number;
  /** Coupons issued (persisted) so far. */
  issuedCount: number;
  /** Issue time of the last coupon once the stock is gone, else null. */
  soldOutAt: Date | null;
  /** Coupons of the campaign redeemed after `since` (the previous reading), up to `at`. */
  redeemedSince: number;
  claims: OutcomeTotals;
  /** Claims admitted by the redis-gate and not yet persisted (pending + lag); null without Redis. */
  streamBacklog: number | null;
}

interface Row {
  at: Date | string;
  status: string;
  total_quantity: number;
  issued_count: number;
  sold_out_at: Date | string | null;
  redeemed: number;
}

/**
 * Reads campaign `campaignId` (deleted ones are not found). `since` bounds the redemptions counted
 * (default: the last second).
 * @throws DomainError `not-found`; database and Redis errors as they come.
 */
export async function readLive(
  db: Db,
  counters: OutcomeCounters,
  redis: RedisConnection | undefined,
  campaignId: string,
  since?: Date,
): Promise<LiveReading> {
  const after = since ? sql`${since.toISOString()}::timestamptz` : sql`now() - interval '1 second'`;
  // The sold-out moment and the redemptions use coupons_campaign_issued_idx and
  // coupons_redeemed_idx: a few index entries per reading, however big the campaign.
  const [rows, claims, stream] = await Promise.all([
    queryRows<Row>(
      db,
      sql`SELECT now() AS at, c.status, c.total_quantity, c.issued_count,
                 CASE WHEN c.issued_count >= c.total_quantity THEN
                   (SELECT max(issued_at) FROM coupons WHERE campaign_id = c.id) END AS sold_out_at,
                 (SELECT count(*)::int FROM coupons
                   WHERE campaign_id = c.id AND redeemed_at > ${after} AND redeemed_at <= now()) AS redeemed
            FROM campaigns c WHERE c.id = ${campaignId} AND c.deleted_at IS NULL`,
    ),
    counters.read(campaignId),
    redis ? campaignStreamStats(redis, campaignId) : undefined,
  ]);
  const row = rows[0];
  if (!row) throw new DomainError('not-found', `campaign ${campaignId} does not exist`);
  return {
    at: asDate(row.at),
    status: row.status,
    totalQuantity: row.total_quantity,
    issuedCount: row.issued_count,
    soldOutAt: asDateOrNull(row.sold_out_at),
    redeemedSince: row.redeemed,
    claims,
    streamBacklog: stream ? stream.pending + stream.lag : null,
  };
}

/** Per-second rates between two readings of the same counters (0 for the first reading). */
export function claimRates(previous: LiveReading | undefined, current: LiveReading): OutcomeTotals {
  const seconds = previous ? (current.at.getTime() - previous.at.getTime()) / 1000 : 0;
  const rates = { ...current.claims };
  for (const outcome of LIVE_OUTCOMES) {
    rates[outcome] =
      previous && seconds > 0 ? Math.max(0, current.claims[outcome] - previous.claims[outcome]) / seconds : 0;
  }
  return rates;
}

/** Redemptions per second over the interval of `current` (1 s for a first reading). */
export function redemptionRate(previous: LiveReading | undefined, current: LiveReading): number {
  const seconds = previous ? (current.at.getTime() - previous.at.getTime()) / 1000 : 1;
  return seconds > 0 ? current.redeemedSince / seconds : 0;
}
