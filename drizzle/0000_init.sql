CREATE TABLE "campaigns" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"status" text NOT NULL,
	"total_quantity" integer NOT NULL,
	"issued_count" integer DEFAULT 0 NOT NULL,
	"per_user_limit" smallint DEFAULT 1 NOT NULL,
	"starts_at" timestamp with time zone,
	"ends_at" timestamp with time zone,
	"coupon_validity_seconds" integer,
	"coupon_valid_until" timestamp with time zone,
	"discount_type" text NOT NULL,
	"discount_value" integer NOT NULL,
	"discount_max_amount" integer,
	"min_order_amount" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "campaigns_status_valid" CHECK ("campaigns"."status" IN ('draft', 'active', 'suspended', 'ended')),
	CONSTRAINT "campaigns_total_quantity_positive" CHECK ("campaigns"."total_quantity" > 0),
	CONSTRAINT "campaigns_issued_count_not_negative" CHECK ("campaigns"."issued_count" >= 0),
	CONSTRAINT "campaigns_issued_within_stock" CHECK ("campaigns"."issued_count" <= "campaigns"."total_quantity"),
	CONSTRAINT "campaigns_per_user_limit_positive" CHECK ("campaigns"."per_user_limit" >= 1),
	CONSTRAINT "campaigns_window_ordered" CHECK ("campaigns"."starts_at" IS NULL OR "campaigns"."ends_at" IS NULL OR "campaigns"."starts_at" < "campaigns"."ends_at"),
	CONSTRAINT "campaigns_validity_positive" CHECK ("campaigns"."coupon_validity_seconds" IS NULL OR "campaigns"."coupon_validity_seconds" > 0),
	CONSTRAINT "campaigns_discount_type_valid" CHECK ("campaigns"."discount_type" IN ('fixed', 'percent')),
	CONSTRAINT "campaigns_discount_value_valid" CHECK ("campaigns"."discount_value" > 0 AND ("campaigns"."discount_type" = 'fixed' OR "campaigns"."discount_value" <= 100))
);
--> statement-breakpoint
CREATE TABLE "coupons" (
	"id" uuid PRIMARY KEY NOT NULL,
	"campaign_id" uuid NOT NULL,
	"user_id" text,
	"user_slot" smallint,
	"code" text,
	"status" text DEFAULT 'issued' NOT NULL,
	"issued_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"redeemed_at" timestamp with time zone,
	CONSTRAINT "coupons_status_valid" CHECK ("coupons"."status" IN ('issued', 'redeemed', 'revoked')),
	CONSTRAINT "coupons_owner_has_slot" CHECK (("coupons"."user_id" IS NULL) = ("coupons"."user_slot" IS NULL)),
	CONSTRAINT "coupons_user_slot_positive" CHECK ("coupons"."user_slot" IS NULL OR "coupons"."user_slot" >= 1)
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"principal" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"response_status" smallint,
	"response_body" jsonb,
	"locked_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_principal_key_pk" PRIMARY KEY("principal","key")
);
--> statement-breakpoint
CREATE TABLE "redemptions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"coupon_id" uuid NOT NULL,
	"user_id" text NOT NULL,
	"order_id" text NOT NULL,
	"order_amount" integer NOT NULL,
	"discount_amount" integer NOT NULL,
	"status" text DEFAULT 'completed' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"rolled_back_at" timestamp with time zone,
	CONSTRAINT "redemptions_status_valid" CHECK ("redemptions"."status" IN ('completed', 'rolled_back')),
	CONSTRAINT "redemptions_amounts_valid" CHECK ("redemptions"."order_amount" >= 0 AND "redemptions"."discount_amount" >= 0)
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"password_hash" text NOT NULL,
	"role" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_role_valid" CHECK ("users"."role" IN ('admin', 'service', 'user'))
);
--> statement-breakpoint
ALTER TABLE "coupons" ADD CONSTRAINT "coupons_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "redemptions" ADD CONSTRAINT "redemptions_coupon_id_coupons_id_fk" FOREIGN KEY ("coupon_id") REFERENCES "public"."coupons"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "campaigns_created_idx" ON "campaigns" USING btree ("created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "coupons_user_slot_unique" ON "coupons" USING btree ("campaign_id","user_id","user_slot");--> statement-breakpoint
CREATE UNIQUE INDEX "coupons_code_unique" ON "coupons" USING btree ("code");--> statement-breakpoint
CREATE INDEX "coupons_user_issued_idx" ON "coupons" USING btree ("user_id","issued_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "coupons_campaign_issued_idx" ON "coupons" USING btree ("campaign_id","issued_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "idempotency_keys_created_idx" ON "idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "redemptions_one_completed_per_coupon" ON "redemptions" USING btree ("coupon_id") WHERE "redemptions"."status" = 'completed';--> statement-breakpoint
CREATE INDEX "redemptions_coupon_idx" ON "redemptions" USING btree ("coupon_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_unique" ON "users" USING btree ("email");