/**
 * Where a claim stands (`GET /v1/claims/{id}`), for every strategy:
 * 1. pending — admitted by the redis-gate and not yet persisted (the strategy's pending record);
 * 2. issued — a coupon with the claim's id exists (every strategy uses the claim id as coupon id);
 * 3. failed — the claim is a dead letter.
 * Redis is asked first: the worker forgets the pending record only after the COMMIT, so a claim
 * missing from Redis is already in PostgreSQL. If Redis cannot be reached, PostgreSQL alone
 * answers what it knows; otherwise the lookup fails with `service-unavailable`.
 */
import { sql } from 'drizzle-orm';
import type { Coupon } from '../coupons/model.js';
import { findCoupon } from '../coupons/repository.js';
import { type Db, queryRows } from '../db/client.js';
import { DomainError } from '../errors.js';
import type { IssuanceStrategy } from './strategies/types.js';

/**
 * Why a claim became a dead letter, as its owner sees it (`GET /v1/claims/{id}`): a stable code,
 * never the stored error text, which may quote SQL and parameters.
 * - `malformed-entry`: the stream entry could not be a coupon whatever the database holds;
 * - `campaign-unknown`: the database has no such campaign (Redis state of another database);
 * - `slot-taken`: the user's slot went to another coupon (the gate was reloaded mid-batch);
 * - `persist-failed`: the database refused the coupon at every delivery.
 */
export const DEAD_LETTER_REASONS = [
  'malformed-entry',
  'campaign-unknown',
  'slot-taken',
  'persist-failed',
] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

/**
 * The reason of a stored dead letter error, written `<reason>: <detail>` (the reason lives in
 * the `error` column so that no migration was needed); rows written before the codes map by
 * their old texts, anything else is `persist-failed`.
 */
export function deadLetterReason(error: string): DeadLetterReason {
  const code = error.slice(0, error.indexOf(':'));
  if ((DEAD_LETTER_REASONS as readonly string[]).includes(code)) return code as DeadLetterReason;
  if (error.startsWith('malformed stream entry')) return 'malformed-entry';
  if (error.startsWith("the user's slot was already taken")) return 'slot-taken';
  return 'persist-failed';
}

export type ClaimStatus =
  | { status: 'pending'; claimId: string; campaignId: string; userId: string; position: number }
  | { status: 'issued'; claimId: string; campaignId: string; userId: string | null; coupon: Coupon }
  | {
      status: 'failed';
      claimId: string;
      campaignId: string;
      userId: string | null;
      reason: DeadLetterReason;
    };

/** @throws DomainError `not-found` for an unknown claim; `service-unavailable` (see above). */
export async function findClaim(db: Db, issuance: IssuanceStrategy, claimId: string): Promise<ClaimStatus> {
  let redisError: unknown;
  if (issuance.findPendingClaim) {
    try {
      const pending = await issuance.findPendingClaim(claimId);
      if (pending) return { status: 'pending', ...pending };
    } catch (error) {
      redisError = error;
    }
  }
  const coupon = await findCoupon(db, claimId);
  if (coupon)
    return { status: 'issued', claimId, campaignId: coupon.campaignId, userId: coupon.userId, coupon };
  const dead = await queryRows<{ campaign_id: string; user_id: string | null; error: string }>(
    db,
    sql`SELECT campaign_id, user_id, error FROM dead_letters WHERE claim_id = ${claimId}`,
  );
  if (dead[0]) {
    return {
      status: 'failed',
      claimId,
      campaignId: dead[0].campaign_id,
      userId: dead[0].user_id,
      reason: deadLetterReason(dead[0].error),
    };
  }
  if (redisError) {
    throw new DomainError('service-unavailable', 'pending claims cannot be looked up now', {
      retryAfterSeconds: 1,
      cause: redisError,
    });
  }
  throw new DomainError('not-found', `claim ${claimId} does not exist`);
}
