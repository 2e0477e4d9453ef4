DROP INDEX "coupons_code_unique";--> statement-breakpoint
CREATE UNIQUE INDEX "coupons_code_unique" ON "coupons" USING btree ("code") WHERE "coupons"."code" IS NOT NULL;