/**
 * The campaign domain object and its pure rules.
 *
 * A campaign is a promotion with a stock (`totalQuantity`), a per-user limit, an optional claim
 * window `[startsAt, endsAt)`, a coupon validity and a discount. Status:
 * - `draft`: being prepared; nothing can be claimed or redeemed;
 * - `active`: claims are open (inside the window) and coupons are redeemable;
 * - `suspended`: everything paused, claims and redemptions (seed 004's bulk suspension), in O(1);
 * - `ended`: claims closed for good; coupons already issued stay redeemable until they expire.
 * `deletedAt` set = soft-deleted: hidden everywhere.
 *
 * A spend budget (`budget`, optional) caps the total discount its redemptions may grant: the
 * database keeps `redeemedAmount <= budget` (CHECK campaigns_redeemed_within_budget), the
 * redemption transaction adds its discount and a rollback gives it back.
 */
import type { campaigns } from '../db/schema.js';

export const CAMPAIGN_STATUSES = ['draft', 'active', 'suspended', 'ended'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/** Amounts in minor currency units; percent in whole percent (1..100). */
export type Discount =
  | { type: 'fixed'; amount: number }
  | { type: 'percent'; percent: number; maxAmount?: number };

/** How long an issued coupon stays valid: `seconds` after issue and/or until a date; earliest wins. */
export interface CouponValidity {
  seconds?: number;
  until?: Date;
}

export interface Campaign {
  id: string;
  name: string;
  status: CampaignStatus;
  totalQuantity: number;
  issuedCount: number;
  perUserLimit: number;
  startsAt: Date | null;
  endsAt: Date | null;
  couponValidity: CouponValidity | null;
  discount: Discount;
  minOrderAmount: number | null;
  /** Total discount the campaign may grant, minor units; null = unlimited. */
  budget: number | null;
  /** Sum of the discounts of its completed redemptions, minor units. */
  redeemedAmount: number;
  /** Number of its completed redemptions. */
  redeemedCount: number;
  createdAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

/** Which statuses each status may move to (`PATCH status`). */
export const STATUS_TRANSITIONS: Record<CampaignStatus, readonly CampaignStatus[]> = {
  draft: ['active', 'ended'],
  active: ['suspended', 'ended'],
  suspended: ['active', 'ended'],
  ended: [],
};

/** The statuses from which `target` can be reached. */
export function statusesLeadingTo(target: CampaignStatus): CampaignStatus[] {
  return CAMPAIGN_STATUSES.filter((from) => STATUS_TRANSITIONS[from].includes(target));
}

export function campaignFromRow(row: typeof campaigns.$inferSelect): Campaign {
  const discount: Discount =
    row.discountType === 'fixed'
      ? { type: 'fixed', amount: row.discountValue }
      : {
          type: 'percent',
          percent: row.discountValue,
          ...(row.discountMaxAmount === null ? {} : { maxAmount: row.discountMaxAmount }),
        };
  const validity: CouponValidity = {};
  if (row.couponValiditySeconds !== null) validity.seconds = row.couponValiditySeconds;
  if (row.couponValidUntil !== null) validity.until = row.couponValidUntil;
  return {
    id: row.id,
    name: row.name,
    status: row.status as CampaignStatus,
    totalQuantity: row.totalQuantity,
    issuedCount: row.issuedCount,
    perUserLimit: row.perUserLimit,
    startsAt: row.startsAt,
    endsAt: row.endsAt,
    couponValidity: Object.keys(validity).length > 0 ? validity : null,
    discount,
    minOrderAmount: row.minOrderAmount,
    budget: row.budget,
    redeemedAmount: row.redeemedAmount,
    redeemedCount: row.redeemedCount,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    deletedAt: row.deletedAt,
  };
}

/** Column values for a discount and a validity (the inverse of {@link campaignFromRow}). */
export function discountColumns(discount: Discount) {
  return discount.type === 'fixed'
    ? { discountType: 'fixed', discountValue: discount.amount, discountMaxAmount: null }
    : {
        discountType: 'percent',
        discountValue: discount.percent,
        discountMaxAmount: discount.maxAmount ?? null,
      };
}

export function validityColumns(validity: CouponValidity | null) {
  return { couponValiditySeconds: validity?.seconds ?? null, couponValidUntil: validity?.until ?? null };
}

/** Why a claim on `campaign` at `now` cannot be admitted, ignoring stock and the user; undefined if it can. */
export function claimWindowProblem(campaign: Campaign, now: Date): string | undefined {
  if (campaign.status !== 'active') return `the campaign is ${campaign.status}`;
  if (campaign.startsAt && now < campaign.startsAt)
    return `the campaign opens at ${campaign.startsAt.toISOString()}`;
  if (campaign.endsAt && now >= campaign.endsAt)
    return `the campaign closed at ${campaign.endsAt.toISOString()}`;
  return undefined;
}
