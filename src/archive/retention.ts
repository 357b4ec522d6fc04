/**
 * Retention policy (pure): how long a run's messages are kept after the run ends. Ordinary campaigns
 * follow RETENTION_DAYS (or `--older-than`); campaigns marked `regulated` (banking) follow
 * RETENTION_REGULATED_DAYS, and `--older-than` can lengthen but never shorten that. Neither is ever shorter than
 * the delivery-report window.
 */
export interface RetentionSettings {
  retentionDays: number;
  regulatedDays: number;
  /** `--older-than <days>` from the command line. */
  olderThanDays?: number;
  /**
   * How long after a run ends a delivery report can still change its messages (2 × DLR_MAX_AGE_HOURS, in ms: the
   * poller asks for reports of a finished run's messages until then). No run is archived sooner, whatever the days
   * say: a report applied after the export left the file with the old row and the run's counters frozen at it.
   */
  reportWindowMs?: number;
}

export interface RetentionCutoffs {
  /** Runs of ordinary campaigns that ended before this instant are expired. */
  ordinary: Date;
  regulated: Date;
}

const DAY_MS = 86_400_000;

/**
 * The longest `--older-than` accepted (100 years): beyond it a typo, and from about 10^8 days on the cutoff is no
 * longer a valid date (PostgreSQL refused the query, exit 1).
 */
export const MAX_OLDER_THAN_DAYS = 36_500;

export function retentionCutoffs(now: Date, s: RetentionSettings): RetentionCutoffs {
  const ordinaryDays = s.olderThanDays ?? s.retentionDays;
  const regulatedDays = Math.max(s.regulatedDays, s.olderThanDays ?? 0);
  const settle = s.reportWindowMs ?? 0;
  return {
    ordinary: new Date(now.getTime() - Math.max(ordinaryDays * DAY_MS, settle)),
    regulated: new Date(now.getTime() - Math.max(regulatedDays * DAY_MS, settle)),
  };
}
