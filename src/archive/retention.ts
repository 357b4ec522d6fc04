/**
 * Retention policy (pure): how long a run's messages are kept after the run ends. Ordinary campaigns
 * follow RETENTION_DAYS (or `--older-than`); campaigns marked `regulated` (banking) follow
 * RETENTION_REGULATED_DAYS, and `--older-than` can lengthen but never shorten that.
 */
export interface RetentionSettings {
  retentionDays: number;
  regulatedDays: number;
  /** `--older-than <days>` from the command line. */
  olderThanDays?: number;
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
  return {
    ordinary: new Date(now.getTime() - ordinaryDays * DAY_MS),
    regulated: new Date(now.getTime() - regulatedDays * DAY_MS),
  };
}
