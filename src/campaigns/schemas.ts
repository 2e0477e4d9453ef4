/** Request and response schemas of the campaign routes; the TS types are inferred from them. */
import { type Static, Type } from 'typebox';
import { DateTime, Nullable, PageQuery, SafeString, Uuid } from '../http/schemas.js';
import type { Campaign } from './model.js';

/** A spend budget: total discount the campaign may grant; null = unlimited. */
const Budget = Nullable(
  Type.Integer({
    minimum: 0,
    maximum: 1_000_000_000_000,
    description: 'total discount the campaign may grant, minor currency units; null = unlimited',
  }),
);

const Amount = Type.Integer({
  minimum: 1,
  maximum: 1_000_000_000,
  description: 'minor currency units (cents)',
});

const CampaignName = SafeString({ minLength: 1, maxLength: 200 });

export const DiscountSchema = Type.Union(
  [
    Type.Object({ type: Type.Literal('fixed'), amount: Amount }, { additionalProperties: false }),
    Type.Object(
      {
        type: Type.Literal('percent'),
        percent: Type.Integer({ minimum: 1, maximum: 100, description: 'whole percent' }),
        maxAmount: Type.Optional(Amount),
      },
      { additionalProperties: false },
    ),
  ],
  { description: 'fixed amount off, or a percentage with an optional cap' },
);

export const CouponValiditySchema = Type.Object(
  {
    seconds: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 315_360_000, description: 'valid for s after issue' }),
    ),
    until: Type.Optional(DateTime),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'earliest of the two wins; null = no expiry',
  },
);

export const CreateCampaignBody = Type.Object(
  {
    name: CampaignName,
    totalQuantity: Type.Integer({ minimum: 1, maximum: 100_000_000, description: 'stock' }),
    perUserLimit: Type.Integer({ minimum: 1, maximum: 100, default: 1 }),
    status: Type.Union([Type.Literal('draft'), Type.Literal('active')], { default: 'draft' }),
    startsAt: Type.Optional(Nullable(DateTime)),
    endsAt: Type.Optional(Nullable(DateTime)),
    couponValidity: Type.Optional(Nullable(CouponValiditySchema)),
    discount: DiscountSchema,
    minOrderAmount: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 1_000_000_000 }))),
    budget: Type.Optional(Budget),
  },
  { additionalProperties: false },
);
export type CreateCampaignBody = Static<typeof CreateCampaignBody>;

export const UpdateCampaignBody = Type.Object(
  {
    name: Type.Optional(CampaignName),
    status: Type.Optional(
      Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('ended')], {
        description: 'suspended = suspend, active = resume (or activate a draft), ended = close for good',
      }),
    ),
    totalQuantity: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000_000 })),
    startsAt: Type.Optional(Nullable(DateTime)),
    endsAt: Type.Optional(Nullable(DateTime)),
    budget: Type.Optional(Budget),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateCampaignBody = Static<typeof UpdateCampaignBody>;

export const ListCampaignsQuery = Type.Object({
  ...PageQuery,
  q: Type.Optional(SafeString({ minLength: 1, maxLength: 200, description: 'part of the name, any case' })),
  status: Type.Optional(
    Type.Union([
      Type.Literal('draft'),
      Type.Literal('active'),
      Type.Literal('suspended'),
      Type.Literal('ended'),
    ]),
  ),
});

export const CampaignSchema = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    status: Type.String(),
    totalQuantity: Type.Integer(),
    perUserLimit: Type.Integer(),
    issuedCount: Type.Integer(),
    remaining: Type.Integer(),
    startsAt: Nullable(DateTime),
    endsAt: Nullable(DateTime),
    couponValidity: Nullable(
      Type.Object({ seconds: Type.Optional(Type.Integer()), until: Type.Optional(DateTime) }),
    ),
    discount: Type.Object({
      type: Type.String(),
      amount: Type.Optional(Type.Integer()),
      percent: Type.Optional(Type.Integer()),
      maxAmount: Type.Optional(Type.Integer()),
    }),
    minOrderAmount: Nullable(Type.Integer()),
    budget: Nullable(Type.Integer({ description: 'spend budget, minor units; null = unlimited' })),
    redeemedAmount: Type.Integer({ description: 'discount granted by completed redemptions, minor units' }),
    budgetRemaining: Nullable(Type.Integer({ description: 'budget − redeemedAmount; null = unlimited' })),
    redeemedCount: Type.Integer({
      description: 'number of completed redemptions (rolled back ones not counted)',
    }),
    createdAt: DateTime,
    updatedAt: DateTime,
  },
  { $id: 'Campaign' },
);
export type CampaignJson = Static<typeof CampaignSchema>;

export const CampaignPageSchema = Type.Object({
  items: Type.Array(CampaignSchema),
  nextCursor: Nullable(Type.String()),
});

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function campaignJson(campaign: Campaign): CampaignJson {
  const validity = campaign.couponValidity;
  return {
    id: campaign.id,
    name: campaign.name,
    status: campaign.status,
    totalQuantity: campaign.totalQuantity,
    perUserLimit: campaign.perUserLimit,
    issuedCount: campaign.issuedCount,
    remaining: Math.max(0, campaign.totalQuantity - campaign.issuedCount),
    startsAt: iso(campaign.startsAt),
    endsAt: iso(campaign.endsAt),
    couponValidity: validity && {
      ...(validity.seconds === undefined ? {} : { seconds: validity.seconds }),
      ...(validity.until === undefined ? {} : { until: validity.until.toISOString() }),
    },
    discount: campaign.discount,
    minOrderAmount: campaign.minOrderAmount,
    budget: campaign.budget,
    redeemedAmount: campaign.redeemedAmount,
    budgetRemaining: campaign.budget === null ? null : Math.max(0, campaign.budget - campaign.redeemedAmount),
    redeemedCount: campaign.redeemedCount,
    createdAt: campaign.createdAt.toISOString(),
    updatedAt: campaign.updatedAt.toISOString(),
  };
}
