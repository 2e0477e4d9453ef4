-- Generated codes have no owner (user_slot NULL) and need no per-user-limit check. A WHEN clause
-- skips the trigger function for them entirely, which keeps bulk code generation close to the
-- speed of a plain COPY (the function call per row was the largest part of the overhead).
DROP TRIGGER coupons_user_slot_within_limit ON coupons;
--> statement-breakpoint
CREATE TRIGGER coupons_user_slot_within_limit BEFORE INSERT OR UPDATE OF user_slot, campaign_id ON coupons
  FOR EACH ROW WHEN (NEW.user_slot IS NOT NULL) EXECUTE FUNCTION stampede_check_user_slot();
