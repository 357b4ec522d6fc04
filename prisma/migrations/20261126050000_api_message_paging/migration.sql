-- CreateIndex
CREATE INDEX "messages_campaign_id_id_idx" ON "messages"("campaign_id", "id");
