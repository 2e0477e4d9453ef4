ALTER TABLE "campaigns" ADD COLUMN "budget" bigint;--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "redeemed_amount" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Existing completed redemptions count towards redeemed_amount, so rolling one back later gives back what it took.
UPDATE "campaigns" k SET "redeemed_amount" = s.total
  FROM (SELECT c.campaign_id, sum(r.discount_amount) AS total
          FROM "redemptions" r JOIN "coupons" c ON c.id = r.coupon_id
         WHERE r.status = 'completed' GROUP BY c.campaign_id) s
 WHERE k.id = s.campaign_id;--> statement-breakpoint
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_budget_not_negative" CHECK ("campaigns"."budget" IS NULL OR "campaigns"."budget" >= 0);--> statement-breakpoint
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_redeemed_amount_not_negative" CHECK ("campaigns"."redeemed_amount" >= 0);--> statement-breakpoint
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_redeemed_within_budget" CHECK ("campaigns"."budget" IS NULL OR "campaigns"."redeemed_amount" <= "campaigns"."budget");