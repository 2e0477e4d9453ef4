-- A coupon in user slot 1 is within every per-user limit (limits are >= 1, CHECK
-- campaigns_per_user_limit_positive), so the trigger function only needs to run from slot 2 on.
-- This spares the plpgsql call on the claim path (the campaign row is locked until commit) and in
-- the redis-gate worker's batch inserts for the usual limit of one.
DROP TRIGGER coupons_user_slot_within_limit ON coupons;
--> statement-breakpoint
CREATE TRIGGER coupons_user_slot_within_limit BEFORE INSERT OR UPDATE OF user_slot, campaign_id ON coupons
  FOR EACH ROW WHEN (NEW.user_slot > 1) EXECUTE FUNCTION stampede_check_user_slot();
