-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "vars" TEXT[];

-- DropIndex: (run_id, status) is a prefix of the new (run_id, status, id) index. Every status change of a
-- message rewrites all of its index entries, so one index fewer is one insert fewer per transition.
DROP INDEX "messages_run_id_status_idx";

-- CreateIndex
CREATE INDEX "messages_run_id_status_id_idx" ON "messages"("run_id", "status", "id");
