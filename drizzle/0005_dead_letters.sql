CREATE TABLE "dead_letters" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"claim_id" text,
	"campaign_id" uuid NOT NULL,
	"user_id" text,
	"user_slot" smallint,
	"admitted_at" timestamp with time zone,
	"position" integer,
	"entry_id" text NOT NULL,
	"fields" jsonb NOT NULL,
	"deliveries" integer NOT NULL,
	"error" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "dead_letters_claim_unique" ON "dead_letters" USING btree ("claim_id");--> statement-breakpoint
CREATE INDEX "dead_letters_campaign_idx" ON "dead_letters" USING btree ("campaign_id","created_at");