-- Per run and status, how many of its messages the archive has deleted (and a restore has not brought back): what
-- a run's counters add to its rows still in `messages`. Kept by the archive's delete batches and the restore's
-- inserts in the same transactions as the rows themselves, so the counters are exact at every commit. Before it, a
-- run with fewer rows than it counted kept its counters frozen, and a row changed after the export (a late delivery
-- report; the archive keeps such a row for its next file) never showed in `campaign status`.
CREATE TABLE "run_archived_counts" (
    "run_id" UUID NOT NULL,
    "status" "MessageStatus" NOT NULL,
    "n" INTEGER NOT NULL,
    CONSTRAINT "run_archived_counts_pkey" PRIMARY KEY ("run_id", "status"),
    CONSTRAINT "run_archived_counts_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "campaign_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- Runs archived before: what their (frozen) counters hold beyond the rows still there is what was archived.
INSERT INTO "run_archived_counts" ("run_id", "status", "n")
SELECT r.id, v.status, v.counted - (SELECT count(*) FROM messages m WHERE m.run_id = r.id AND m.status = v.status)::int
  FROM campaign_runs r
 CROSS JOIN LATERAL (VALUES ('pending'::"MessageStatus", r.pending), ('queued', r.queued), ('sending', r.sending), ('sent', r.sent),
                            ('delivered', r.delivered), ('failed', r.failed), ('unknown', r.unknown), ('suppressed', r.suppressed),
                            ('cancelled', r.cancelled)) AS v(status, counted)
 WHERE r.total > (SELECT count(*) FROM messages m WHERE m.run_id = r.id)
   AND v.counted <> (SELECT count(*) FROM messages m WHERE m.run_id = r.id AND m.status = v.status);
