/**
 * Redemption SQL. Redeeming is one conditional UPDATE of the coupon (`issued` → `redeemed`, owner
 * matches, not expired, campaign redeemable, order above the minimum) followed, in the same
 * transaction, by the redemption row; the partial unique index redemptions_one_completed_per_coupon
 * backs the guarantee that a coupon is redeemed at most once.
 */
import { sql } from 'drizzle-orm';
import type { Discount } from '../campaigns/model.js';
import { asDate, asDateOrNull, type Db, queryRows } from '../db/client.js';
import { isoTime, outboxCtes } from '../webhooks/outbox.js';
import { REDEEMABLE_CAMPAIGN_STATUSES, type RedemptionState } from './rules.js';

export interface Redemption {
  id: string;
  couponId: string;
  userId: string;
  orderId: string;
  orderAmount: number;
  discountAmount: number;
  status: 'completed' | 'rolled_back';
  createdAt: Date;
  rolledBackAt: Date | null;
}

export interface RedemptionRow {
  id: string;
  coupon_id: string;
  user_id: string;
  order_id: string;
  order_amount: number;
  discount_amount: number;
  status: 'completed' | 'rolled_back';
  created_at: Date | string;
  rolled_back_at: Date | string | null;
}

export function redemptionFromRow(row: RedemptionRow): Redemption {
  return {
    id: row.id,
    couponId: row.coupon_id,
    userId: row.user_id,
    orderId: row.order_id,
    orderAmount: row.order_amount,
    discountAmount: row.discount_amount,
    status: row.status,
    createdAt: asDate(row.created_at),
    rolledBackAt: asDateOrNull(row.rolled_back_at),
  };
}

const REDEEMABLE = sql.raw(REDEEMABLE_CAMPAIGN_STATUSES.map((s) => `'${s}'`).join(', '));

/**
 * Marks the coupon redeemed when every condition holds; returns its campaign and the campaign's
 * discount, or undefined when some condition failed. A coupon with an owner is redeemable by its
 * owner only; an owner-less one (a generated code) by whoever presents it — it stays owner-less,
 * the redemption row records the user. The caller diagnoses a failure with {@link readRedemptionState}.
 * Concurrent attempts on one coupon queue on its row lock; all but the first then find it redeemed.
 */
export async function markCouponRedeemed(
  db: Db,
  couponId: string,
  userId: string,
  orderAmount: number,
): Promise<{ campaignId: string; discount: Discount } | undefined> {
  const rows = await queryRows<{
    campaign_id: string;
    discount_type: string;
    discount_value: number;
    discount_max_amount: number | null;
  }>(
    db,
    sql`UPDATE coupons c SET status = 'redeemed', redeemed_at = now()
        FROM campaigns k
        WHERE c.id = ${couponId} AND (c.user_id = ${userId} OR c.user_id IS NULL) AND c.status = 'issued'
          AND (c.expires_at IS NULL OR c.expires_at > now())
          AND k.id = c.campaign_id AND k.deleted_at IS NULL AND k.status IN (${REDEEMABLE})
          AND (k.min_order_amount IS NULL OR k.min_order_amount <= ${orderAmount})
        RETURNING k.id AS campaign_id, k.discount_type, k.discount_value, k.discount_max_amount`,
  );
  const row = rows[0];
  if (!row) return undefined;
  const discount: Discount =
    row.discount_type === 'fixed'
      ? { type: 'fixed', amount: row.discount_value }
      : {
          type: 'percent',
          percent: row.discount_value,
          ...(row.discount_max_amount ? { maxAmount: row.discount_max_amount } : {}),
        };
  return { campaignId: row.campaign_id, discount };
}

/**
 * Adds a redemption's discount (minor units) to its campaign's `redeemed_amount` and counts it in
 * `redeemed_count`, in the redemption's transaction. One statement: concurrent redemptions of a campaign queue on its row
 * lock and each adds to the latest committed sum, so the CHECK campaigns_redeemed_within_budget
 * (SQLSTATE 23514) refuses exactly the one that would pass the budget. The row stays locked until
 * commit, so callers run this as the last statement of the redemption.
 *
 * The same statement writes the webhook events (src/webhooks/outbox.ts) `coupon.redeemed` for
 * `redemption`, and `campaign.budget_exhausted` when this discount left less of the budget than
 * one more discount needs (a fixed discount's amount; for a percent discount, nothing), once per
 * crossing (a rollback that gives budget back may make a later redemption cross again); a
 * redemption refused by the CHECK writes neither.
 */
export async function chargeCampaign(
  db: Db,
  campaignId: string,
  discountAmount: number,
  redemption: Redemption,
): Promise<void> {
  // Dates become ISO 8601 texts, as in the API's redemption.
  const redeemed = { ...redemption, campaignId };
  await queryRows(
    db,
    sql`WITH charged AS (
          UPDATE campaigns SET redeemed_amount = redeemed_amount + ${discountAmount},
                               redeemed_count = redeemed_count + 1
          WHERE id = ${campaignId}
          RETURNING id, redeemed_amount, budget,
                    -- Less than this left and no full discount fits: a fixed discount's amount;
                    -- for percent discounts (any size down to 1), nothing left.
                    CASE WHEN discount_type = 'fixed' THEN discount_value ELSE 1 END AS least_discount
        ), ${outboxCtes('redeemed_wh', 'coupon.redeemed', sql`SELECT ${JSON.stringify(redeemed)}::jsonb AS data FROM charged`)},
        ${outboxCtes(
          'budget_wh',
          'campaign.budget_exhausted',
          sql`SELECT jsonb_build_object('campaignId', id, 'budget', budget, 'redeemedAmount', redeemed_amount,
                                        'budgetRemaining', budget - redeemed_amount,
                                        'redemptionId', ${redemption.id}::uuid) AS data
              FROM charged
              WHERE budget IS NOT NULL AND ${discountAmount} > 0
                AND budget - redeemed_amount < least_discount
                AND budget - (redeemed_amount - ${discountAmount}) >= least_discount`,
        )}
        SELECT 1`,
  );
}

export async function insertRedemption(
  db: Db,
  input: { couponId: string; userId: string; orderId: string; orderAmount: number; discountAmount: number },
): Promise<Redemption> {
  const rows = await queryRows<RedemptionRow>(
    db,
    sql`INSERT INTO redemptions (coupon_id, user_id, order_id, order_amount, discount_amount)
        VALUES (${input.couponId}, ${input.userId}, ${input.orderId}, ${input.orderAmount}, ${input.discountAmount})
        RETURNING *`,
  );
  return redemptionFromRow(rows[0]!);
}

/** The coupon and campaign facts that explain a failed redemption, and the database clock. */
export async function readRedemptionState(
  db: Db,
  couponId: string,
): Promise<{ state: RedemptionState | undefined; now: Date }> {
  const rows = await queryRows<{
    status: string;
    user_id: string | null;
    expires_at: Date | string | null;
    campaign_status: string;
    deleted: boolean;
    min_order_amount: number | null;
    now: Date | string;
  }>(
    db,
    sql`SELECT c.status, c.user_id, c.expires_at, k.status AS campaign_status, k.deleted_at IS NOT NULL AS deleted,
               k.min_order_amount, now() AS now
        FROM coupons c JOIN campaigns k ON k.id = c.campaign_id WHERE c.id = ${couponId}`,
  );
  const row = rows[0];
  if (!row) return { state: undefined, now: new Date() };
  return {
    now: asDate(row.now),
    state: {
      couponStatus: row.status,
      userId: row.user_id,
      expiresAt: asDateOrNull(row.expires_at),
      campaignStatus: row.campaign_status,
      campaignDeleted: row.deleted,
      minOrderAmount: row.min_order_amount,
    },
  };
}

/**
 * Completed → rolled_back, the coupon back to `issued`, the discount given back to the campaign's
 * `redeemed_amount` and one taken off its `redeemed_count`, and the webhook event
 * `redemption.rolled_back`, in one statement; undefined when not completed.
 */
export async function rollBackRedemption(db: Db, redemptionId: string): Promise<Redemption | undefined> {
  const rows = await queryRows<RedemptionRow>(
    db,
    sql`WITH undone AS (
          UPDATE redemptions SET status = 'rolled_back', rolled_back_at = now()
          WHERE id = ${redemptionId} AND status = 'completed'
          RETURNING *
        ), restored AS (
          UPDATE coupons SET status = 'issued', redeemed_at = NULL
          WHERE id = (SELECT coupon_id FROM undone) AND status = 'redeemed'
          RETURNING id
        ), given_back AS (
          UPDATE campaigns k SET redeemed_amount = k.redeemed_amount - undone.discount_amount,
                                 redeemed_count = k.redeemed_count - 1
          FROM undone JOIN coupons c ON c.id = undone.coupon_id
          WHERE k.id = c.campaign_id
          RETURNING k.id
        ), ${outboxCtes(
          'rolled_back_wh',
          'redemption.rolled_back',
          sql`SELECT jsonb_build_object('id', u.id, 'couponId', u.coupon_id, 'campaignId', g.id, 'userId', u.user_id,
                                        'orderId', u.order_id, 'orderAmount', u.order_amount,
                                        'discountAmount', u.discount_amount, 'status', u.status,
                                        'createdAt', ${isoTime(sql`u.created_at`)},
                                        'rolledBackAt', ${isoTime(sql`u.rolled_back_at`)}) AS data
              FROM undone u LEFT JOIN given_back g ON true`,
        )}
        SELECT undone.* FROM undone LEFT JOIN restored ON true LEFT JOIN given_back ON true`,
  );
  return rows[0] && redemptionFromRow(rows[0]);
}

export async function findRedemption(db: Db, id: string): Promise<Redemption | undefined> {
  const rows = await queryRows<RedemptionRow>(db, sql`SELECT * FROM redemptions WHERE id = ${id}`);
  return rows[0] && redemptionFromRow(rows[0]);
}
