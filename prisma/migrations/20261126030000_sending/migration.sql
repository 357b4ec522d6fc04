-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "vars" TEXT[];

-- CreateIndex
CREATE INDEX "messages_run_id_status_id_idx" ON "messages"("run_id", "status", "id");
