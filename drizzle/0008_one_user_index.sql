-- One index keyed by user instead of two. coupons_user_slot_unique now leads with user_id, so it
-- also finds a user's coupons (GET /v1/me/coupons, coupon search by user: read whole and sorted,
-- a user holds few coupons), and coupons_user_issued_idx goes. Every coupon insert maintained
-- both, at random places (user ids are unordered); the redis-gate worker's batch insert spent
-- about a third of its time on this pair (bench/gate.ts, worker drain).
-- The migration runs in one transaction: the unique rule is never absent for other sessions.
-- CREATE UNIQUE INDEX blocks writes to coupons while it builds (seconds per million coupons).
DROP INDEX "coupons_user_issued_idx";--> statement-breakpoint
DROP INDEX "coupons_user_slot_unique";--> statement-breakpoint
CREATE UNIQUE INDEX "coupons_user_slot_unique" ON "coupons" USING btree ("user_id","campaign_id","user_slot") WHERE "coupons"."user_id" IS NOT NULL;