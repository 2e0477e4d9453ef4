/**
 * Webhook repository: plain functions taking the database (or a transaction) first, over the
 * tables `webhook_endpoints`, `webhook_events` (the outbox) and `webhook_deliveries`
 * (src/db/schema.ts). The dispatcher's claim and outcome statements live here too.
 */
import { and, desc, eq, getTableColumns, sql } from 'drizzle-orm';
import { asDate, type Db, queryRows } from '../db/client.js';
import type { KeysetPosition } from '../db/keyset.js';
import { webhookDeliveries, webhookEndpoints } from '../db/schema.js';
import type { WebhookEventType } from './outbox.js';

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string | null;
  events: WebhookEventType[];
  enabled: boolean;
  disabledReason: string | null;
  /** When the previous secret stops signing (after a rotation), or null. */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

type EndpointRow = typeof webhookEndpoints.$inferSelect;

function endpointFromRow(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events as WebhookEventType[],
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    previousSecretExpiresAt: row.previousSecretExpiresAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export async function insertEndpoint(
  db: Db,
  input: { url: string; description: string | null; events: WebhookEventType[]; secret: string },
): Promise<WebhookEndpoint> {
  const rows = await db.insert(webhookEndpoints).values(input).returning();
  return endpointFromRow(rows[0]!);
}

export async function findEndpoint(db: Db, id: string): Promise<WebhookEndpoint | undefined> {
  const rows = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).limit(1);
  return rows[0] && endpointFromRow(rows[0]);
}

/** Up to `limit` endpoints, newest first, strictly after `after`; `next` when the page is full. */
export async function listEndpoints(
  db: Db,
  options: { limit: number; after?: KeysetPosition | undefined },
): Promise<{ items: WebhookEndpoint[]; next: KeysetPosition | null }> {
  const { limit, after } = options;
  const rows = await db
    .select({
      ...getTableColumns(webhookEndpoints),
      cursorAt: sql<string>`${webhookEndpoints.createdAt}::text`,
    })
    .from(webhookEndpoints)
    .where(
      after
        ? sql`(${webhookEndpoints.createdAt}, ${webhookEndpoints.id}) < (${after.at}::timestamptz, ${after.id}::uuid)`
        : undefined,
    )
    .orderBy(sql`${webhookEndpoints.createdAt} DESC NULLS LAST, ${webhookEndpoints.id} DESC NULLS LAST`)
    .limit(limit);
  const last = rows.length === limit ? rows[rows.length - 1] : undefined;
  return {
    items: rows.map(({ cursorAt: _, ...row }) => endpointFromRow(row)),
    next: last ? { at: last.cursorAt, id: last.id } : null,
  };
}

export interface EndpointChanges {
  url?: string | undefined;
  description?: string | null | undefined;
  events?: WebhookEventType[] | undefined;
  /** true re-enables an endpoint (clearing its disabled reason); false disables it. */
  enabled?: boolean | undefined;
}

export async function updateEndpoint(
  db: Db,
  id: string,
  changes: EndpointChanges,
): Promise<WebhookEndpoint | undefined> {
  const set: Partial<typeof webhookEndpoints.$inferInsert> = { updatedAt: sql`now()` as unknown as Date };
  if (changes.url !== undefined) set.url = changes.url;
  if (changes.description !== undefined) set.description = changes.description;
  if (changes.events !== undefined) set.events = changes.events;
  if (changes.enabled !== undefined) {
    set.enabled = changes.enabled;
    set.disabledReason = changes.enabled ? null : 'disabled by an admin';
  }
  return db.transaction(async (tx) => {
    const rows = await tx.update(webhookEndpoints).set(set).where(eq(webhookEndpoints.id, id)).returning();
    // A disabled endpoint's pending deliveries leave the due index (paused) and come back when it
    // is enabled, due at once.
    if (rows[0] && changes.enabled === false) {
      await queryRows(
        tx,
        sql`UPDATE webhook_deliveries SET status = 'paused' WHERE endpoint_id = ${id} AND status = 'pending'`,
      );
    } else if (rows[0] && changes.enabled === true) {
      await queryRows(
        tx,
        sql`UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now()
            WHERE endpoint_id = ${id} AND status = 'paused'`,
      );
    }
    return rows[0] && endpointFromRow(rows[0]);
  });
}

/**
 * Deletes an endpoint and its deliveries; false when unknown. (Deliveries have no foreign key to
 * their endpoint, see src/db/schema.ts; one a claim adds meanwhile is never leased, as the lease
 * joins the endpoint, and the purge removes it.)
 */
export async function deleteEndpoint(db: Db, id: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .delete(webhookEndpoints)
      .where(eq(webhookEndpoints.id, id))
      .returning({ id: webhookEndpoints.id });
    if (rows.length === 0) return false;
    await queryRows(tx, sql`DELETE FROM webhook_deliveries WHERE endpoint_id = ${id}`);
    return true;
  });
}

/**
 * Makes `secret` the endpoint's secret; the current one keeps signing for `graceSeconds` more.
 * Returns the endpoint, or undefined when unknown.
 */
export async function rotateSecret(
  db: Db,
  id: string,
  secret: string,
  graceSeconds: number,
): Promise<WebhookEndpoint | undefined> {
  const rows = await queryRows<{ id: string }>(
    db,
    sql`UPDATE webhook_endpoints SET previous_secret = secret, secret = ${secret},
          previous_secret_expires_at = now() + ${graceSeconds} * interval '1 second', updated_at = now()
        WHERE id = ${id} RETURNING id`,
  );
  return rows[0] && findEndpoint(db, id);
}

/** `paused`: the endpoint is disabled; `pending` again when it is enabled. */
export type DeliveryStatus = 'pending' | 'paused' | 'delivered' | 'failed';

export interface WebhookDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: WebhookEventType;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastAttemptAt: Date | null;
  lastError: string | null;
  createdAt: Date;
}

/** An endpoint's deliveries, newest first (keyset pagination). */
export async function listDeliveries(
  db: Db,
  endpointId: string,
  options: { limit: number; after?: KeysetPosition | undefined; status?: DeliveryStatus | undefined },
): Promise<{ items: WebhookDelivery[]; next: KeysetPosition | null }> {
  const { limit, after, status } = options;
  const d = webhookDeliveries;
  const rows = await db
    .select({
      ...getTableColumns(d),
      eventType: sql<string>`(SELECT type FROM webhook_events e WHERE e.id = ${d.eventId})`,
      cursorAt: sql<string>`${d.createdAt}::text`,
    })
    .from(d)
    .where(
      and(
        eq(d.endpointId, endpointId),
        status ? eq(d.status, status) : undefined,
        after ? sql`(${d.createdAt}, ${d.id}) < (${after.at}::timestamptz, ${after.id}::uuid)` : undefined,
      ),
    )
    .orderBy(desc(d.createdAt), desc(d.id))
    .limit(limit);
  const last = rows.length === limit ? rows[rows.length - 1] : undefined;
  return {
    items: rows.map((row) => ({
      id: row.id,
      endpointId: row.endpointId,
      eventId: row.eventId,
      eventType: row.eventType as WebhookEventType,
      status: row.status as DeliveryStatus,
      attempts: row.attempts,
      nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt : null,
      lastStatusCode: row.lastStatusCode,
      lastAttemptAt: row.lastAttemptAt,
      lastError: row.lastError,
      createdAt: row.createdAt,
    })),
    next: last ? { at: last.cursorAt, id: last.id } : null,
  };
}

/**
 * Makes a delivery due now (pending again if it had failed or been delivered), unless a dispatcher
 * holds it this moment. Returns `retried`, `in-flight` or `not-found`.
 */
export async function retryDelivery(
  db: Db,
  endpointId: string,
  deliveryId: string,
): Promise<'retried' | 'in-flight' | 'not-found'> {
  const rows = await queryRows<{ retried: boolean }>(
    db,
    sql`WITH target AS (
          SELECT id, locked_until IS NOT NULL AND locked_until > now() AS leased
          FROM webhook_deliveries WHERE id = ${deliveryId} AND endpoint_id = ${endpointId}
          FOR UPDATE
        ), retried AS (
          UPDATE webhook_deliveries d SET status = 'pending', next_attempt_at = now(), locked_until = NULL
          FROM target WHERE d.id = target.id AND NOT target.leased
          RETURNING d.id
        )
        SELECT EXISTS (SELECT 1 FROM retried) AS retried FROM target`,
  );
  if (!rows[0]) return 'not-found';
  return rows[0].retried ? 'retried' : 'in-flight';
}

/** A delivery a dispatcher holds, with what it needs to send it. */
export interface LeasedDelivery {
  id: string;
  /** The event id, sent as `webhook-id` on every attempt. */
  eventId: string;
  type: string;
  payload: unknown;
  eventCreatedAt: Date;
  /** Attempts including this one. */
  attempts: number;
  /** The lease, a token: the outcome is recorded only while it is still the row's. */
  lockedUntil: Date;
  endpointId: string;
  url: string;
  /** Secrets that sign: the current one, then the previous one during a rotation's grace period. */
  secrets: string[];
}

interface LeasedRow {
  id: string;
  event_id: string;
  type: string;
  payload: unknown;
  event_created_at: Date | string;
  attempts: number;
  locked_until: Date | string;
  endpoint_id: string;
  url: string;
  secret: string;
  previous_secret: string | null;
}

/**
 * Claims up to `limit` due deliveries of enabled endpoints for `leaseMs`: a short transaction of
 * one statement that picks the oldest due rows with FOR UPDATE SKIP LOCKED (so concurrent
 * dispatchers take disjoint rows and never wait on each other), counts the attempt and sets
 * `locked_until`. A row whose lease ran out (its dispatcher died) is due again; it is sent with
 * the same event id, so receivers can drop the duplicate.
 */
export async function leaseDueDeliveries(db: Db, limit: number, leaseMs: number): Promise<LeasedDelivery[]> {
  const rows = await queryRows<LeasedRow>(
    db,
    sql`WITH due AS (
          SELECT d.id FROM webhook_deliveries d
          JOIN webhook_endpoints p ON p.id = d.endpoint_id AND p.enabled
          WHERE d.status = 'pending' AND d.next_attempt_at <= now()
            AND (d.locked_until IS NULL OR d.locked_until <= now())
          ORDER BY d.next_attempt_at
          LIMIT ${limit}
          FOR UPDATE OF d SKIP LOCKED
        )
        UPDATE webhook_deliveries d
        SET attempts = d.attempts + 1, last_attempt_at = now(),
            -- Whole milliseconds: the lease comes back as a JS Date and is compared as the row's token.
            locked_until = date_trunc('milliseconds', clock_timestamp() + ${leaseMs} * interval '1 millisecond')
        FROM due, webhook_events e, webhook_endpoints p
        WHERE d.id = due.id AND e.id = d.event_id AND p.id = d.endpoint_id
        RETURNING d.id, d.event_id, e.type, e.payload, e.created_at AS event_created_at, d.attempts,
                  d.locked_until, p.id AS endpoint_id, p.url, p.secret,
                  CASE WHEN p.previous_secret_expires_at > now() THEN p.previous_secret END AS previous_secret`,
  );
  return rows.map((row) => ({
    id: row.id,
    eventId: row.event_id,
    type: row.type,
    payload: row.payload,
    eventCreatedAt: asDate(row.event_created_at),
    attempts: row.attempts,
    lockedUntil: asDate(row.locked_until),
    endpointId: row.endpoint_id,
    url: row.url,
    secrets: row.previous_secret ? [row.secret, row.previous_secret] : [row.secret],
  }));
}

/** What became of one attempt. */
export interface AttemptOutcome {
  /** `delivered` (2xx), `retry` at `retryInMs`, `failed` (attempts used up or 410). */
  status: 'delivered' | 'retry' | 'failed';
  retryInMs?: number;
  statusCode: number | null;
  error: string | null;
  /** Disable the endpoint with this reason (it answered 410 Gone). */
  disableEndpoint?: string;
}

/**
 * Records the outcomes of attempts, each under the lease it was made with, in one statement
 * (the dispatcher groups the outcomes that arrive while the previous statement runs), releasing
 * the leases and disabling the endpoints that answered 410. An outcome whose lease is no longer
 * the row's (it ran out and another dispatcher took the row) is not written.
 */
export async function recordAttempts(
  db: Db,
  attempts: { lease: LeasedDelivery; outcome: AttemptOutcome }[],
): Promise<void> {
  if (attempts.length === 0) return;
  const column = <T>(pick: (attempt: (typeof attempts)[number]) => T) => sql.param(attempts.map(pick));
  await queryRows(
    db,
    sql`WITH o AS (
          SELECT * FROM unnest(${column((a) => a.lease.id)}::uuid[],
                               ${column((a) => a.lease.lockedUntil.toISOString())}::timestamptz[],
                               ${column((a) => (a.outcome.status === 'retry' ? 'pending' : a.outcome.status))}::text[],
                               ${column((a) => a.outcome.retryInMs ?? 0)}::float8[],
                               ${column((a) => a.outcome.statusCode)}::int[],
                               ${column((a) => a.outcome.error)}::text[],
                               ${column((a) => a.outcome.disableEndpoint ?? null)}::text[])
                   AS o(id, locked_until, status, retry_ms, status_code, error, disable_reason)
        ), recorded AS (
          UPDATE webhook_deliveries d
          -- A retry of a delivery paused while it was in flight stays paused (its endpoint was disabled).
          SET status = CASE WHEN d.status = 'paused' AND o.status = 'pending' THEN 'paused' ELSE o.status END,
              next_attempt_at = now() + o.retry_ms * interval '1 millisecond',
              locked_until = NULL, last_status_code = o.status_code, last_error = o.error
          FROM o WHERE d.id = o.id AND d.locked_until = o.locked_until
          RETURNING d.endpoint_id, o.disable_reason
        ), disabled AS (
          UPDATE webhook_endpoints p SET enabled = false, disabled_reason = r.disable_reason, updated_at = now()
          FROM (SELECT DISTINCT ON (endpoint_id) endpoint_id, disable_reason FROM recorded
                WHERE disable_reason IS NOT NULL) r
          WHERE p.id = r.endpoint_id
          RETURNING p.id
        )
        -- The disabled endpoints' other pending deliveries pause (rows this statement records are
        -- left alone: one statement must not update a row twice).
        UPDATE webhook_deliveries d SET status = 'paused'
        FROM disabled WHERE d.endpoint_id = disabled.id AND d.status = 'pending'
          AND NOT EXISTS (SELECT 1 FROM o WHERE o.id = d.id)`,
  );
}

/** Gives leased deliveries back, due now and this attempt not counted (a dispatcher stopping). */
export async function releaseLeases(db: Db, leases: LeasedDelivery[]): Promise<void> {
  if (leases.length === 0) return;
  await queryRows(
    db,
    sql`UPDATE webhook_deliveries d SET locked_until = NULL, attempts = d.attempts - 1, next_attempt_at = now()
        FROM unnest(${sql.param(leases.map((l) => l.id))}::uuid[], ${sql.param(leases.map((l) => l.lockedUntil.toISOString()))}::timestamptz[])
          AS l(id, locked_until)
        WHERE d.id = l.id AND d.locked_until = l.locked_until`,
  );
}

/** Pending deliveries and the age of the oldest due one, s, for the backlog gauges. */
export async function deliveryBacklog(db: Db): Promise<{ pending: number; oldestDueSeconds: number }> {
  const rows = await queryRows<{ pending: number; oldest: number | null }>(
    db,
    sql`SELECT count(*)::int AS pending,
               extract(epoch FROM now() - min(next_attempt_at) FILTER (WHERE next_attempt_at <= now()))::float8 AS oldest
        FROM webhook_deliveries WHERE status = 'pending'`,
  );
  return { pending: rows[0]?.pending ?? 0, oldestDueSeconds: rows[0]?.oldest ?? 0 };
}

/** Days a settled event (none of its deliveries pending) is kept, with its deliveries, for the deliveries API. */
export const EVENT_RETENTION_DAYS = 30;

/** Events the purge deletes per statement at most, so no statement holds locks for long. */
const PURGE_BATCH = 10_000;

/**
 * Deletes events older than `retentionDays` none of whose deliveries is still pending or paused,
 * with their deliveries (ON DELETE CASCADE), in batches of {@link PURGE_BATCH}; and the deliveries
 * of endpoints that no longer exist (a claim racing the endpoint's deletion may add one). Returns
 * how many events went. Idempotent and skip-locked, so every process may run it on its own timer.
 */
export async function purgeSettledEvents(db: Db, retentionDays = EVENT_RETENTION_DAYS): Promise<number> {
  await queryRows(
    db,
    sql`DELETE FROM webhook_deliveries d
        WHERE d.created_at < now() - interval '1 minute'
          AND NOT EXISTS (SELECT 1 FROM webhook_endpoints p WHERE p.id = d.endpoint_id)`,
  );
  let purged = 0;
  for (;;) {
    const rows = await queryRows<{ n: number }>(
      db,
      sql`WITH old AS (
            SELECT e.id FROM webhook_events e
            WHERE e.created_at < now() - make_interval(days => ${retentionDays})
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                              WHERE d.event_id = e.id AND d.status IN ('pending', 'paused'))
            ORDER BY e.created_at
            LIMIT ${PURGE_BATCH}
            FOR UPDATE SKIP LOCKED
          ), gone AS (
            DELETE FROM webhook_events e USING old WHERE e.id = old.id RETURNING 1
          ) SELECT count(*)::int AS n FROM gone`,
    );
    purged += rows[0]!.n;
    if (rows[0]!.n < PURGE_BATCH) return purged;
  }
}
