-- CreateTable
CREATE TABLE "schedule_firings" (
    "campaign_id" UUID NOT NULL,
    "due_at" TIMESTAMPTZ(3) NOT NULL,
    "trigger" TEXT NOT NULL,
    "fired_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "outcome" TEXT,

    CONSTRAINT "schedule_firings_pkey" PRIMARY KEY ("campaign_id","due_at")
);

-- AddForeignKey
ALTER TABLE "schedule_firings" ADD CONSTRAINT "schedule_firings_campaign_id_fkey" FOREIGN KEY ("campaign_id") REFERENCES "campaigns"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- CreateIndex
CREATE INDEX "contacts_list_id_id_idx" ON "contacts"("list_id", "id");
