DROP INDEX "coupons_user_slot_unique";--> statement-breakpoint
DROP INDEX "coupons_user_issued_idx";--> statement-breakpoint
DROP INDEX "coupons_status_issued_idx";--> statement-breakpoint
CREATE UNIQUE INDEX "coupons_user_slot_unique" ON "coupons" USING btree ("campaign_id","user_id","user_slot") WHERE "coupons"."user_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "coupons_user_issued_idx" ON "coupons" USING btree ("user_id","issued_at" DESC NULLS LAST,"id" DESC NULLS LAST) WHERE "coupons"."user_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "coupons_status_issued_idx" ON "coupons" USING btree ("status","issued_at" DESC NULLS LAST,"id" DESC NULLS LAST) WHERE "coupons"."status" IN ('redeemed', 'revoked');