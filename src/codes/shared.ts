/**
 * Shared (public) codes: one code per campaign, e.g. `WELCOME10`, that any user may redeem, once
 * per per-user limit (default 1), up to the campaign's stock (the optional total: give a large
 * `totalQuantity` for "unlimited").
 *
 * Design: redeeming a shared code *issues the user a coupon* of the campaign and redeems that
 * coupon, in one transaction (src/redemptions/service.ts `redeemSharedCode`). The issue is the
 * db-atomic claim statement, so every guarantee of claims holds in SQL for shared codes too:
 * `issued_count <= total_quantity` caps the total, `UNIQUE (campaign_id, user_id, user_slot)`
 * with the slot trigger caps each user, and the coupon's redemption is guarded by the partial
 * unique index of redemptions. Concurrent redemptions by one user collide on the slot index and
 * are retried under a savepoint with a fresh snapshot, then rejected as `already-redeemed`.
 * Consequences: the campaign's claim window and status govern the shared code, and a rolled
 * back redemption leaves the user an issued coupon, which the next redemption of the shared
 * code by that user redeems again.
 *
 * The shared code lives on the campaign (`campaigns.shared_code`, unique); generated codes skip
 * any shared code and setting a shared code refuses a generated one, so a code names exactly one
 * thing. (The two checks are not serialized against each other: a random 16-character code
 * equal to a hand-chosen shared code set in the same instant is the residual, negligible risk.)
 */
import { sql } from 'drizzle-orm';
import { type Db, pgError, queryRows, SQLSTATE } from '../db/client.js';
import { DomainError } from '../errors.js';

/**
 * A shared code: 8 to 64 characters of the generated codes' alphabet, not starting with "-" (a
 * spreadsheet formula). Shared codes are admin-chosen words, so length is their only defence
 * against guessing, besides the throttle on code attempts.
 */
export const SHARED_CODE_PATTERN = '^[0-9A-Za-z_][0-9A-Za-z_-]{7,63}$';

/**
 * Gives a campaign its shared code (replacing any previous one).
 * @throws DomainError `not-found` (campaign unknown or deleted), `code-taken`.
 */
export async function setSharedCode(db: Db, campaignId: string, code: string): Promise<void> {
  let rows: { id: string }[];
  try {
    rows = await queryRows<{ id: string }>(
      db,
      sql`UPDATE campaigns SET shared_code = ${code}, updated_at = now()
          WHERE id = ${campaignId} AND deleted_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM coupons WHERE code = ${code})
          RETURNING id`,
    );
  } catch (error) {
    if (pgError(error)?.code === SQLSTATE.uniqueViolation) {
      throw new DomainError('code-taken', `the code ${code} is the shared code of another campaign`);
    }
    throw error;
  }
  if (rows.length === 1) return;
  const exists = await queryRows(
    db,
    sql`SELECT 1 FROM campaigns WHERE id = ${campaignId} AND deleted_at IS NULL`,
  );
  if (exists.length === 0) throw new DomainError('not-found', `campaign ${campaignId} does not exist`);
  throw new DomainError('code-taken', `the code ${code} is already a generated coupon code`);
}

/** The campaign whose shared code is `code` (not deleted), or undefined. */
export async function findSharedCodeCampaign(db: Db, code: string): Promise<string | undefined> {
  const rows = await queryRows<{ id: string }>(
    db,
    sql`SELECT id FROM campaigns WHERE shared_code = ${code} AND deleted_at IS NULL`,
  );
  return rows[0]?.id;
}

/** The coupon with generated code `code` when its campaign is not deleted, or undefined. */
export async function findCouponIdByCode(db: Db, code: string): Promise<string | undefined> {
  const rows = await queryRows<{ id: string }>(
    db,
    sql`SELECT c.id FROM coupons c JOIN campaigns k ON k.id = c.campaign_id
        WHERE c.code = ${code} AND k.deleted_at IS NULL`,
  );
  return rows[0]?.id;
}

/** An issued, unredeemed coupon `userId` holds in `campaignId` (left by a rolled-back redemption). */
export async function findUnredeemedCoupon(db: Db, campaignId: string, userId: string) {
  const rows = await queryRows<{ id: string }>(
    db,
    sql`SELECT id FROM coupons WHERE campaign_id = ${campaignId} AND user_id = ${userId} AND status = 'issued'
        ORDER BY issued_at LIMIT 1`,
  );
  return rows[0]?.id;
}
