/**
 * The SQL of the stream worker: persisting a batch of admitted claims of one campaign in one
 * statement, and writing dead letters.
 *
 * Persisting is idempotent: the coupon id is the claim id and the insert is
 * `ON CONFLICT DO NOTHING`, so a batch delivered twice (a worker died after COMMIT and before
 * XACK) inserts nothing the second time, and `issued_count` grows by the rows actually inserted.
 * A claim that is neither inserted nor already stored lost its user slot to another coupon (only
 * possible after the gate was reloaded while this batch was in flight): it becomes a dead letter
 * before the batch is acked, so the user is never issued twice and nothing disappears silently.
 * The webhook events `coupon.issued` and `campaign.sold_out` are written by the persisting
 * statement itself, for the rows it inserted (src/webhooks/outbox.ts).
 */
import { type SQL, sql } from 'drizzle-orm';
import { COUPON_COLUMNS } from '../coupons/model.js';
import type { Db } from '../db/client.js';
import { pgError, queryRows, SQLSTATE } from '../db/client.js';
import type { DeadLetterReason } from '../issuance/claims.js';
import { CLAIM_EVENTS } from '../issuance/sql.js';
import { isoTime, outboxCtes } from '../webhooks/outbox.js';
import { entryFields, STREAM_ENTRY_FIELDS, type StreamClaim, storableText } from './stream-entry.js';

/** One stream entry as read by the worker. */
export interface WorkItem {
  entryId: string;
  /** The raw field list of the entry. */
  fields: string[];
  /** Undefined for a malformed entry. */
  claim: StreamClaim | undefined;
  /** Times the entry has been delivered, this delivery included. */
  deliveries: number;
}

export const SLOT_TAKEN_ERROR =
  "the user's slot was already taken by another coupon (gate reloaded mid-batch)";

/**
 * Persists the claims of `items` (all well-formed, all of `campaignId`) in ONE statement — one
 * multi-row INSERT from unnest() arrays and one UPDATE of `issued_count`, atomic together — then
 * dead-letters claims whose slot was taken. No explicit transaction (it would cost two more round
 * trips per batch): if the process dies between the statement and the dead letters, the entries
 * are not acked, come back, insert nothing, and are dead-lettered then.
 *
 * Two statements, tried in turn: a plain INSERT, which succeeds for any batch delivered for the
 * first time (nearly all of them), and, when it fails on a unique violation (a re-delivered
 * batch, or a slot taken), the idempotent `ON CONFLICT DO NOTHING` form that sorts the claims
 * out. The plain form exists for speed: `ON CONFLICT` probes every unique index before each
 * row's insert, which took about a fifth of the statement's time (perf profile of a PostgreSQL
 * backend; bench/gate.ts measures the drain).
 * @returns rows inserted and claims dead-lettered; the rest were already stored.
 * @throws the database error when the statement fails (nothing is written then).
 */
export async function persistBatch(
  db: Db,
  campaignId: string,
  items: WorkItem[],
): Promise<{ inserted: number; deadLettered: number }> {
  const claims = items.map((item) => item.claim!);
  try {
    const [first] = await queryRows<{ inserted: number }>(
      db,
      sql`WITH ${insertClaims(campaignId, claims, sql``)}
          SELECT (SELECT count(*)::int FROM inserted) AS inserted`,
    );
    // Fewer rows only when the campaign row is gone; the idempotent form dead-letters them.
    if (first!.inserted === claims.length) return { inserted: first!.inserted, deadLettered: 0 };
  } catch (error) {
    if (pgError(error)?.code !== SQLSTATE.uniqueViolation) throw error;
  }
  const [result] = await queryRows<{ inserted: number; missing: string[] }>(
    db,
    sql`WITH ${insertClaims(campaignId, claims, sql`ON CONFLICT DO NOTHING`)}
        SELECT (SELECT count(*)::int FROM inserted) AS inserted,
               ARRAY(SELECT i.id::text FROM input i WHERE NOT EXISTS (SELECT 1 FROM inserted WHERE inserted.id = i.id))
                 AS missing`,
  );
  const inserted = result!.inserted;
  const notInserted = new Set(result!.missing);
  if (notInserted.size === 0) return { inserted, deadLettered: 0 };
  // A later statement (a new snapshot) tells duplicates from slot conflicts,
  // also when a concurrent worker committed the same claim while we waited on its row.
  const stored = await queryRows<{ id: string }>(
    db,
    sql`SELECT id FROM coupons WHERE id = ANY(${sql.param([...notInserted])}::uuid[])`,
  );
  for (const { id } of stored) notInserted.delete(id);
  const conflicts = items.filter((item) => notInserted.has(item.claim!.claimId));
  for (const item of conflicts) {
    await insertDeadLetter(db, campaignId, item, 'slot-taken', SLOT_TAKEN_ERROR, undefined);
  }
  return { inserted, deadLettered: conflicts.length };
}

/**
 * The CTEs `input` (the claims as rows), `inserted` (the coupons inserted, `onConflict` appended
 * to the INSERT) and `bumped` (issued_count grown by the rows inserted) of both statements of
 * {@link persistBatch}.
 */
function insertClaims(campaignId: string, claims: StreamClaim[], onConflict: SQL): SQL {
  return sql`input AS (
          SELECT * FROM unnest(${sql.param(claims.map((c) => c.claimId))}::uuid[],
                               ${sql.param(claims.map((c) => c.userId))}::text[],
                               ${sql.param(claims.map((c) => c.userSlot))}::int[],
                               ${sql.param(claims.map((c) => c.admittedMs))}::float8[])
                   AS t(id, user_id, user_slot, admitted_ms)
        ), inserted AS (
          INSERT INTO coupons (id, campaign_id, user_id, user_slot, status, issued_at, expires_at)
          SELECT i.id, c.id, i.user_id, i.user_slot, 'issued', to_timestamp(i.admitted_ms / 1000.0),
                 LEAST(to_timestamp(i.admitted_ms / 1000.0) + c.coupon_validity_seconds * interval '1 second',
                       c.coupon_valid_until)
          FROM input i CROSS JOIN campaigns c WHERE c.id = ${campaignId}
          ${onConflict}
          RETURNING ${sql.raw(COUPON_COLUMNS)}
        ), bumped AS (
          UPDATE campaigns SET issued_count = issued_count + (SELECT count(*) FROM inserted)::int
          WHERE id = ${campaignId} AND EXISTS (SELECT 1 FROM inserted)
          RETURNING id, issued_count, total_quantity
        ), issued AS (
          SELECT * FROM inserted
        ), ${CLAIM_EVENTS}`;
}

/** The largest value of an `integer` column. */
const MAX_INT4 = 2_147_483_647;

/**
 * Writes one dead letter (idempotent on the claim id), whatever the entry holds: every text is
 * made storable ({@link storableText}: NUL and lone surrogates escaped), the error is stored as
 * `<reason>: <detail>` (see `deadLetterReason`) cut to 2,000 characters, and a position outside
 * an `integer` is left out. The same statement writes the webhook event `claim.dead_lettered`
 * (not for a dead letter already stored).
 * @throws the database error only when the database itself fails (the entry stays pending then).
 */
export async function insertDeadLetter(
  db: Db,
  campaignId: string,
  item: WorkItem,
  reason: DeadLetterReason,
  detail: string,
  position: number | undefined,
): Promise<void> {
  const claim = item.claim;
  const fields = Object.fromEntries(
    Object.entries(entryFields(item.fields)).map(([name, value]) => [
      storableText(name),
      storableText(value),
    ]),
  );
  const claimId = claim?.claimId ?? fields[STREAM_ENTRY_FIELDS.claimId] ?? null;
  const storedPosition =
    position !== undefined && Number.isInteger(position) && position >= 0 && position <= MAX_INT4
      ? position
      : null;
  await queryRows(
    db,
    sql`WITH dead AS (
          INSERT INTO dead_letters (claim_id, campaign_id, user_id, user_slot, admitted_at, position, entry_id,
                                    fields, deliveries, error)
          VALUES (${claimId}, ${campaignId}, ${claim?.userId ?? null}, ${claim?.userSlot ?? null},
                  ${claim ? new Date(claim.admittedMs).toISOString() : null}::timestamptz,
                  ${storedPosition}, ${storableText(item.entryId)}, ${JSON.stringify(fields)}::jsonb,
                  ${Math.min(item.deliveries, MAX_INT4)}, ${storableText(`${reason}: ${detail}`.slice(0, 2000))})
          ON CONFLICT (claim_id) DO NOTHING
          RETURNING id, claim_id, campaign_id, user_id, user_slot, deliveries, error, created_at
        ), ${outboxCtes(
          'dead_wh',
          'claim.dead_lettered',
          sql`SELECT jsonb_build_object('id', d.id, 'claimId', d.claim_id, 'campaignId', d.campaign_id,
                                        'userId', d.user_id, 'userSlot', d.user_slot, 'reason', ${reason}::text,
                                        'deliveries', d.deliveries, 'error', d.error,
                                        'createdAt', ${isoTime(sql`d.created_at`)}) AS data
              FROM dead d`,
        )}
        SELECT 1`,
  );
}
