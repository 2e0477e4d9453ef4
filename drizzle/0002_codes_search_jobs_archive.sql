CREATE TABLE "archived_campaigns" (
	"id" uuid PRIMARY KEY NOT NULL,
	"deleted_at" timestamp with time zone,
	"data" jsonb NOT NULL,
	"archived_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "archived_coupons" (
	"id" uuid PRIMARY KEY NOT NULL,
	"campaign_id" uuid NOT NULL,
	"code" text,
	"data" jsonb NOT NULL,
	"archived_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "archived_redemptions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"coupon_id" uuid NOT NULL,
	"campaign_id" uuid NOT NULL,
	"data" jsonb NOT NULL,
	"archived_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"kind" text NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"params" jsonb NOT NULL,
	"total" integer NOT NULL,
	"done" integer DEFAULT 0 NOT NULL,
	"result" jsonb,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "jobs_status_valid" CHECK ("jobs"."status" IN ('running', 'succeeded', 'failed')),
	CONSTRAINT "jobs_progress_valid" CHECK ("jobs"."done" >= 0 AND "jobs"."total" >= 0)
);
--> statement-breakpoint
ALTER TABLE "campaigns" ADD COLUMN "shared_code" text;--> statement-breakpoint
CREATE INDEX "archived_coupons_code_idx" ON "archived_coupons" USING btree ("code");--> statement-breakpoint
CREATE INDEX "archived_coupons_campaign_idx" ON "archived_coupons" USING btree ("campaign_id");--> statement-breakpoint
CREATE INDEX "archived_redemptions_coupon_idx" ON "archived_redemptions" USING btree ("coupon_id");--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_one_running_archive" ON "jobs" USING btree ("kind") WHERE "jobs"."kind" = 'archive' AND "jobs"."status" = 'running';--> statement-breakpoint
CREATE INDEX "jobs_kind_created_idx" ON "jobs" USING btree ("kind","created_at" DESC NULLS LAST);--> statement-breakpoint
CREATE UNIQUE INDEX "campaigns_shared_code_unique" ON "campaigns" USING btree ("shared_code");--> statement-breakpoint
CREATE INDEX "coupons_status_issued_idx" ON "coupons" USING btree ("status","issued_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "coupons_issued_idx" ON "coupons" USING btree ("issued_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "coupons_redeemed_idx" ON "coupons" USING btree ("redeemed_at" DESC NULLS LAST,"id" DESC NULLS LAST) WHERE "coupons"."redeemed_at" IS NOT NULL;