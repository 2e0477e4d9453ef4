-- Defense in depth for the per-user limit: whatever an issuance strategy computes, a coupon's
-- user_slot must lie within its campaign's per_user_limit. Together with the unique index
-- coupons_user_slot_unique this caps every user at per_user_limit coupons per campaign.
CREATE FUNCTION stampede_check_user_slot() RETURNS trigger AS $$
BEGIN
  IF NEW.user_slot IS NOT NULL AND NEW.user_slot > (SELECT per_user_limit FROM campaigns WHERE id = NEW.campaign_id) THEN
    RAISE EXCEPTION 'user_slot % exceeds the per-user limit of campaign %', NEW.user_slot, NEW.campaign_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'coupons_user_slot_within_limit';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER coupons_user_slot_within_limit BEFORE INSERT OR UPDATE OF user_slot, campaign_id ON coupons
  FOR EACH ROW EXECUTE FUNCTION stampede_check_user_slot();
