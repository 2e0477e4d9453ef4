-- The per-user limit check of 0001, per statement instead of per row on INSERT: one join over the
-- inserted rows (a transition table) instead of one campaigns lookup per row. Same guarantee, same
-- error (check_violation, constraint coupons_user_slot_within_limit); the redis-gate worker inserts
-- hundreds of coupons per statement, where the per-row trigger was a large share of the cost.
-- Updates of user_slot/campaign_id (rare) keep the per-row check.
DROP TRIGGER coupons_user_slot_within_limit ON coupons;
--> statement-breakpoint
CREATE FUNCTION stampede_check_inserted_user_slots() RETURNS trigger AS $$
DECLARE
  bad record;
BEGIN
  SELECT n.user_slot, n.campaign_id INTO bad
  FROM inserted_coupons n JOIN campaigns c ON c.id = n.campaign_id
  WHERE n.user_slot IS NOT NULL AND n.user_slot > c.per_user_limit
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'user_slot % exceeds the per-user limit of campaign %', bad.user_slot, bad.campaign_id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'coupons_user_slot_within_limit';
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER coupons_user_slot_within_limit_on_insert AFTER INSERT ON coupons
  REFERENCING NEW TABLE AS inserted_coupons
  FOR EACH STATEMENT EXECUTE FUNCTION stampede_check_inserted_user_slots();
--> statement-breakpoint
CREATE TRIGGER coupons_user_slot_within_limit_on_update BEFORE UPDATE OF user_slot, campaign_id ON coupons
  FOR EACH ROW EXECUTE FUNCTION stampede_check_user_slot();
