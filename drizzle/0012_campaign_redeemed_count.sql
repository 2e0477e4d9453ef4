ALTER TABLE "campaigns" ADD COLUMN "redeemed_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Existing completed redemptions count, so rolling one back later takes back what it added.
UPDATE "campaigns" k SET "redeemed_count" = s.total
  FROM (SELECT c.campaign_id, count(*)::int AS total
          FROM "redemptions" r JOIN "coupons" c ON c.id = r.coupon_id
         WHERE r.status = 'completed' GROUP BY c.campaign_id) s
 WHERE k.id = s.campaign_id;--> statement-breakpoint
CREATE INDEX "redemptions_order_idx" ON "redemptions" USING btree ("order_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_redeemed_count_not_negative" CHECK ("campaigns"."redeemed_count" >= 0);
