/**
 * Idempotency keys with Stripe's semantics (https://docs.stripe.com/api/idempotent_requests):
 * the first request with a key runs and its response (success or 4xx problem) is stored; a
 * replay with the same payload gets the stored status and body; the same key with another
 * payload is rejected (`idempotency-key-reused`, 422); a replay while the first is still running
 * is rejected (`idempotency-key-in-use`, 409). Keys are scoped to the calling principal and
 * expire after 24 hours.
 *
 * A successful response is stored in the same transaction as the operation's writes, so a crash
 * can never leave the writes without the stored response or the reverse. A key whose request
 * died mid-flight (process killed) is taken over after {@link ABANDONED_AFTER_SECONDS}.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { and, eq, isNull, sql } from 'drizzle-orm';
import { type Db, queryRows } from '../db/client.js';
import { idempotencyKeys } from '../db/schema.js';
import { DomainError } from '../errors.js';

/** Stripe keeps keys for 24 h; a key older than this is free to be used again. */
export const KEY_TTL_HOURS = 24;
/** An in-flight key not completed within this many seconds is considered abandoned. */
export const ABANDONED_AFTER_SECONDS = 60;
/** Keys are opaque strings of 1–255 visible ASCII characters (Stripe allows up to 255). */
export const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export interface StoredResponse {
  status: number;
  body: unknown;
}

export interface IdempotencyScope {
  principal: string;
  key: string;
  /**
   * Anything that identifies the request: method, route, body. Hashed with SHA-256 in its RFC 8785
   * canonical JSON form (keys sorted), so the same body with its keys in another order is the
   * same request.
   */
  fingerprint: unknown;
}

/**
 * Runs `operation` at most once per (principal, key).
 * @param operation runs inside a transaction; its response is stored in that transaction.
 * @param describeError turns a DomainError thrown by `operation` into the response to store
 *   and replay; other errors release the key (nothing was written) and propagate.
 * @returns the response and whether it is a replay.
 * @throws DomainError `idempotency-key-reused` or `idempotency-key-in-use`.
 */
export async function runIdempotent(
  db: Db,
  scope: IdempotencyScope,
  operation: (tx: Db) => Promise<StoredResponse>,
  describeError: (error: DomainError) => StoredResponse,
): Promise<StoredResponse & { replayed: boolean }> {
  const requestHash = createHash('sha256')
    .update(canonicalize(scope.fingerprint) ?? '')
    .digest('hex');
  const owned = await acquireKey(db, scope, requestHash);
  if (!owned) return { ...(await existingResponse(db, scope, requestHash)), replayed: true };

  try {
    const response = await db.transaction(async (tx) => {
      const result = await operation(tx);
      await storeResponse(tx, scope, result);
      return result;
    });
    return { ...response, replayed: false };
  } catch (error) {
    if (error instanceof DomainError) {
      const response = describeError(error);
      await storeResponse(db, scope, response);
      return { ...response, replayed: false };
    }
    await releaseKey(db, scope);
    throw error;
  }
}

/** Inserts the key, or takes over an expired or abandoned one with the same payload; true when ours. */
async function acquireKey(db: Db, scope: IdempotencyScope, requestHash: string): Promise<boolean> {
  const rows = await queryRows<{ principal: string }>(
    db,
    sql`INSERT INTO idempotency_keys (principal, key, request_hash) VALUES (${scope.principal}, ${scope.key}, ${requestHash})
        ON CONFLICT (principal, key) DO UPDATE
          SET request_hash = EXCLUDED.request_hash, response_status = NULL, response_body = NULL,
              locked_at = now(), created_at = now()
          WHERE idempotency_keys.created_at < now() - make_interval(hours => ${KEY_TTL_HOURS})
             OR (idempotency_keys.response_status IS NULL
                 AND idempotency_keys.request_hash = EXCLUDED.request_hash
                 AND idempotency_keys.locked_at < now() - make_interval(secs => ${ABANDONED_AFTER_SECONDS}))
        RETURNING principal`,
  );
  return rows.length === 1;
}

/** The row of this principal's key. */
const keyOf = (scope: IdempotencyScope) =>
  and(eq(idempotencyKeys.principal, scope.principal), eq(idempotencyKeys.key, scope.key));

async function existingResponse(
  db: Db,
  scope: IdempotencyScope,
  requestHash: string,
): Promise<StoredResponse> {
  const [row] = await db
    .select({
      requestHash: idempotencyKeys.requestHash,
      responseStatus: idempotencyKeys.responseStatus,
      responseBody: idempotencyKeys.responseBody,
    })
    .from(idempotencyKeys)
    .where(keyOf(scope));
  // Released between our insert attempt and this read (the first request failed): ask for a retry.
  if (!row)
    throw new DomainError('idempotency-key-in-use', 'the first request with this key just failed; retry');
  if (row.requestHash !== requestHash) {
    throw new DomainError('idempotency-key-reused', 'this Idempotency-Key was used with a different request');
  }
  if (row.responseStatus === null) throw new DomainError('idempotency-key-in-use');
  return { status: row.responseStatus, body: row.responseBody };
}

async function storeResponse(db: Db, scope: IdempotencyScope, response: StoredResponse): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({ responseStatus: response.status, responseBody: response.body ?? null })
    .where(keyOf(scope));
}

async function releaseKey(db: Db, scope: IdempotencyScope): Promise<void> {
  await db.delete(idempotencyKeys).where(and(keyOf(scope), isNull(idempotencyKeys.responseStatus)));
}

/**
 * Deletes keys older than {@link KEY_TTL_HOURS} (they no longer protect anything) and returns how
 * many went. Idempotent, so every API process may run it on its own timer.
 */
export async function purgeExpiredKeys(db: Db): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    db,
    sql`WITH gone AS (
          DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => ${KEY_TTL_HOURS}) RETURNING 1
        ) SELECT count(*)::int AS n FROM gone`,
  );
  return rows[0]!.n;
}
