-- Delivery reports pushed to the webhook before the send outcome carrying their session id was committed
-- (src/delivery/early-reports.ts). Kept for a few hours; applied as soon as the session id is written.
-- CreateTable
CREATE TABLE "early_delivery_reports" (
    "session_id" TEXT NOT NULL,
    "phone" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "reason" TEXT,
    "dlt_reject" BOOLEAN NOT NULL DEFAULT false,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "early_delivery_reports_pkey" PRIMARY KEY ("session_id","phone")
);

-- CreateIndex
CREATE INDEX "early_delivery_reports_received_at_idx" ON "early_delivery_reports"("received_at");
