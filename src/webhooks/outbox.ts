/**
 * The webhook outbox writer: the event rows of a change are written by the same statement (or in
 * the same transaction) as the change, so an event is never lost and never written for a change
 * that rolled back. Rows are written only for event types an enabled endpoint subscribes to: the
 * statement reads the (small) endpoints table and inserts nothing when nobody listens, so a claim
 * pays one tiny lookup then.
 *
 * Two forms:
 * - {@link outboxCtes}: CTEs to append to a claim statement's `WITH` (db-atomic, db-batch,
 *   db-lock, the redis-gate persist), one event per row of a query over an earlier CTE;
 * - {@link recordEvent}: one statement for one event, run inside the caller's transaction.
 *
 * Body of a delivery: `{type, timestamp, data}` (Standard Webhooks,
 * https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md).
 */
import { type SQL, sql } from 'drizzle-orm';
import { type Db, queryRows } from '../db/client.js';

export const WEBHOOK_EVENT_TYPES = [
  'campaign.created',
  'campaign.updated',
  'campaign.sold_out',
  'campaign.budget_exhausted',
  'coupon.issued',
  'coupon.redeemed',
  'redemption.rolled_back',
  'codes.generated',
  'claim.dead_lettered',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * An SQL timestamptz expression as an RFC 3339 UTC text (`2026-12-02T14:09:00.123456Z`, PostgreSQL's
 * own microseconds), or null. Built from the JSON form of the UTC time: a `to_char` format would
 * need colons in the statement text, which pgbench (bench/core.ts replays the claim statement)
 * reads as variables.
 */
export function isoTime(expression: SQL): SQL {
  return sql`((to_jsonb(${expression} AT TIME ZONE 'UTC') #>> '{}') || 'Z')`;
}

/** The JSON of a coupon row (`r` columns as in COUPON_COLUMNS), the shape of the API's coupon. */
export function couponData(r: string): SQL {
  const c = (column: string) => sql.raw(`${r}.${column}`);
  return sql`jsonb_build_object('id', ${c('id')}, 'campaignId', ${c('campaign_id')}, 'userId', ${c('user_id')},
    'code', ${c('code')}, 'status', ${c('status')}, 'issuedAt', ${isoTime(c('issued_at'))},
    'expiresAt', ${isoTime(c('expires_at'))})`;
}

/**
 * CTEs, for a statement's `WITH` list, that write one event of `type` per row of `rows` (a query
 * with one jsonb column `data`, usually over an earlier CTE of the statement) and its deliveries
 * to every enabled endpoint subscribed to `type`. `name` prefixes the CTE names (unique within
 * the statement). PostgreSQL runs data-modifying CTEs whether or not they are referenced.
 */
export function outboxCtes(name: string, type: WebhookEventType, rows: SQL): SQL {
  if (!WEBHOOK_EVENT_TYPES.includes(type)) throw new Error(`unknown webhook event type ${type}`);
  const endpoints = sql.raw(`${name}_endpoints`);
  const events = sql.raw(`${name}_events`);
  // A literal, not a parameter: the type is one of a closed list, and the statement stays the
  // same text whatever its parameters (bench/core.ts replays it through pgbench).
  const typeText = sql.raw(`'${type}'::text`);
  return sql`${endpoints} AS (
      SELECT id FROM webhook_endpoints WHERE enabled AND ${typeText} = ANY(events)
    ), ${events} AS (
      INSERT INTO webhook_events (type, payload)
      SELECT ${typeText}, r.data FROM (${rows}) r WHERE EXISTS (SELECT 1 FROM ${endpoints})
      RETURNING id
    ), ${sql.raw(`${name}_deliveries`)} AS (
      INSERT INTO webhook_deliveries (event_id, endpoint_id)
      SELECT e.id, p.id FROM ${events} e CROSS JOIN ${endpoints} p
    )`;
}

/**
 * Writes one event of `type` with `data` (any JSON) and its deliveries, when an enabled endpoint
 * subscribes to `type`; nothing otherwise. Run it with the transaction of the change it reports.
 */
export async function recordEvent(db: Db, type: WebhookEventType, data: unknown): Promise<void> {
  await queryRows(
    db,
    sql`WITH ${outboxCtes('wh', type, sql`SELECT ${JSON.stringify(data)}::jsonb AS data`)} SELECT 1`,
  );
}
