-- CreateEnum
CREATE TYPE "ListStatus" AS ENUM ('importing', 'ready', 'failed');
CREATE TYPE "CampaignType" AS ENUM ('transactional', 'promotional');
CREATE TYPE "CampaignStatus" AS ENUM ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed');
CREATE TYPE "RunStatus" AS ENUM ('pending', 'running', 'paused', 'completed', 'cancelled', 'failed');
CREATE TYPE "MessageStatus" AS ENUM ('pending', 'queued', 'sending', 'sent', 'delivered', 'failed', 'unknown', 'suppressed', 'cancelled');
CREATE TYPE "OutcomeClass" AS ENUM ('accepted', 'permanent_recipient', 'permanent_campaign', 'account_fatal', 'retryable', 'ambiguous');
CREATE TYPE "TokenRole" AS ENUM ('owner', 'operator', 'viewer');

-- CreateTable
CREATE TABLE "contact_lists" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "status" "ListStatus" NOT NULL DEFAULT 'importing',
    "failure_reason" TEXT,
    "source_file" TEXT,
    "country" TEXT NOT NULL DEFAULT 'IN',
    "phone_column" TEXT,
    "columns" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "rows" INTEGER NOT NULL DEFAULT 0,
    "accepted" INTEGER NOT NULL DEFAULT 0,
    "rejected" INTEGER NOT NULL DEFAULT 0,
    "duplicates" INTEGER NOT NULL DEFAULT 0,
    "suppressed" INTEGER NOT NULL DEFAULT 0,
    "reject_report_path" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),
    CONSTRAINT "contact_lists_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "contacts" (
    "id" BIGSERIAL NOT NULL,
    "list_id" UUID NOT NULL,
    "phone" TEXT NOT NULL,
    "raw_phone" TEXT NOT NULL,
    "variables" JSONB NOT NULL DEFAULT '{}',
    "source_line" INTEGER NOT NULL,
    CONSTRAINT "contacts_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "suppressions" (
    "phone" TEXT NOT NULL,
    "reason" TEXT,
    "source" TEXT NOT NULL DEFAULT 'manual',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "suppressions_pkey" PRIMARY KEY ("phone")
);

CREATE TABLE "campaigns" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "list_id" UUID NOT NULL,
    "type" "CampaignType" NOT NULL,
    "sender" TEXT NOT NULL,
    "text" TEXT,
    "template_name" TEXT,
    "template_vars" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "dlt_peid" TEXT,
    "dlt_ctid" TEXT,
    "status" "CampaignStatus" NOT NULL DEFAULT 'draft',
    "pause_reason" TEXT,
    "alert" TEXT,
    "schedule_at" TIMESTAMPTZ(3),
    "cron" TEXT,
    "timezone" TEXT NOT NULL DEFAULT 'Asia/Kolkata',
    "pack_size" INTEGER NOT NULL DEFAULT 1,
    "regulated" BOOLEAN NOT NULL DEFAULT false,
    "encoding" TEXT,
    "segments_min" INTEGER,
    "segments_max" INTEGER,
    "credits" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    CONSTRAINT "campaigns_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "campaign_runs" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "campaign_id" UUID NOT NULL,
    "run_number" INTEGER NOT NULL,
    "trigger" TEXT NOT NULL DEFAULT 'manual',
    "status" "RunStatus" NOT NULL DEFAULT 'pending',
    "pause_reason" TEXT,
    "due_at" TIMESTAMPTZ(3),
    "total" INTEGER NOT NULL DEFAULT 0,
    "pending" INTEGER NOT NULL DEFAULT 0,
    "queued" INTEGER NOT NULL DEFAULT 0,
    "sending" INTEGER NOT NULL DEFAULT 0,
    "sent" INTEGER NOT NULL DEFAULT 0,
    "delivered" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "unknown" INTEGER NOT NULL DEFAULT 0,
    "suppressed" INTEGER NOT NULL DEFAULT 0,
    "cancelled" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    CONSTRAINT "campaign_runs_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "messages" (
    "id" BIGSERIAL NOT NULL,
    "run_id" UUID NOT NULL,
    "campaign_id" UUID NOT NULL,
    "contact_id" BIGINT,
    "phone" TEXT NOT NULL,
    "text" TEXT,
    "segments" INTEGER NOT NULL DEFAULT 1,
    "status" "MessageStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "session_id" TEXT,
    "outcome_class" "OutcomeClass",
    "provider_text" TEXT,
    "failure_reason" TEXT,
    "next_attempt_at" TIMESTAMPTZ(3),
    "queued_at" TIMESTAMPTZ(3),
    "sending_at" TIMESTAMPTZ(3),
    "sent_at" TIMESTAMPTZ(3),
    "delivered_at" TIMESTAMPTZ(3),
    "failed_at" TIMESTAMPTZ(3),
    "dlr_checked_at" TIMESTAMPTZ(3),
    "dlr_checks" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "messages_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "api_tokens" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT,
    "role" "TokenRole" NOT NULL,
    "token_hash" TEXT NOT NULL,
    "phone" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "audit_log" (
    "id" BIGSERIAL NOT NULL,
    "token_id" UUID,
    "action" TEXT NOT NULL,
    "target" TEXT,
    "ip" TEXT,
    "details" JSONB,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "contact_lists_name_key" ON "contact_lists"("name");
CREATE INDEX "contacts_phone_idx" ON "contacts"("phone");
CREATE UNIQUE INDEX "contacts_list_id_phone_key" ON "contacts"("list_id", "phone");
CREATE INDEX "campaigns_status_idx" ON "campaigns"("status");
CREATE INDEX "campaign_runs_status_idx" ON "campaign_runs"("status");
CREATE UNIQUE INDEX "campaign_runs_campaign_id_run_number_key" ON "campaign_runs"("campaign_id", "run_number");
CREATE INDEX "messages_run_id_status_idx" ON "messages"("run_id", "status");
CREATE INDEX "messages_session_id_idx" ON "messages"("session_id");
CREATE INDEX "messages_phone_idx" ON "messages"("phone");
CREATE INDEX "messages_campaign_id_status_idx" ON "messages"("campaign_id", "status");
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");
CREATE INDEX "audit_log_at_idx" ON "audit_log"("at");

-- AddForeignKey
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_list_id_fkey" FOREIGN KEY ("list_id") REFERENCES "contact_lists"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_list_id_fkey" FOREIGN KEY ("list_id") REFERENCES "contact_lists"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "campaign_runs" ADD CONSTRAINT "campaign_runs_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "messages" ADD CONSTRAINT "messages_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "campaign_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
