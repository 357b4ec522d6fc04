-- A run started by a schedule's firing records the firing's due instant (campaign_runs.due_at, the firing's key with
-- campaign_id), written in the start's own transaction: a firing whose start lost its answer after the commit finds
-- its run and records `started` rather than alerting "did not start" about a run that is sending. One run per firing.
-- Nothing wrote due_at before; should any duplicates exist, only the first run of each keeps it.
UPDATE "campaign_runs" r SET "due_at" = NULL
 WHERE r."due_at" IS NOT NULL
   AND EXISTS (SELECT 1 FROM "campaign_runs" o
                WHERE o."campaign_id" = r."campaign_id" AND o."due_at" = r."due_at" AND o."run_number" < r."run_number");

-- Manual runs (due_at NULL) are never equal to one another here.
CREATE UNIQUE INDEX "campaign_runs_campaign_id_due_at_key" ON "campaign_runs"("campaign_id", "due_at");
