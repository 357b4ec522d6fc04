/**
 * The message ledger in PostgreSQL: set-based claims and group-committed outcomes. Every transition is a
 * conditional UPDATE on the current status (and attempt number), so a stale or duplicated job can never move a
 * message twice: that condition, not Redis, is what prevents duplicate sends.
 */
import { DatabaseError, type Pool, type PoolClient } from 'pg';
import { isUnreachable } from '../db/reachability';
import { messageOutcomes, unknownResolved } from '../metrics';
import { compareIds } from './ids';

/**
 * SQL condition: the message belongs to the campaign whose id is the given parameter, found through its runs.
 * Status lookups of a campaign then use the (run_id, status, id) index: messages has no (campaign_id, status)
 * index, because each of the three status updates of a sent message would insert into it
 * (migration 20261127030000_drop_messages_campaign_status_index).
 */
export const inCampaignRuns = (param: string): string => `run_id IN (SELECT id FROM campaign_runs WHERE campaign_id = ${param})`;

export interface ClaimedMessage {
  id: string;
  status: 'sending' | 'suppressed';
  phone: string;
  text: string | null;
  vars: string[] | null;
  attempts: number;
  /** This claim's identity (its sending_at in µs since the epoch, as text): what its outcome must match. */
  claimedAt: string;
}

/**
 * SQL for a message's claim identity: its sending_at in whole microseconds (a claim sets it to its transaction's
 * now(), so no two claims of one message share it). Not the attempt number alone: a release or a throttled retry
 * gives the attempt back (attempts − 1), so the next claim has the same number — and an outcome write retried
 * after a commit whose answer was lost would then land on that newer claim, in flight.
 */
export const CLAIM_TOKEN_SQL = (alias: string): string => `(extract(epoch FROM ${alias}.sending_at) * 1000000)::bigint`;

/**
 * queued → sending (attempts + 1, sending_at = now()) for the given ids, only while the campaign is running.
 * A number suppressed since the run started becomes `suppressed` instead. Rows not `queued` any more are skipped.
 */
export async function claimMessages(pg: Pool, ids: readonly string[]): Promise<ClaimedMessage[]> {
  if (!ids.length) return [];
  // Named = prepared once per connection: these run hundreds of times per second. The ids are looked up by
  // primary key only (OFFSET 0 keeps the subquery from being flattened): joined to the campaign's status, the
  // planner used to walk every queued row of the campaign through (campaign_id, status) and filter on id —
  // thousands of rows per chunk — and evaluated the suppression check once per CASE.
  const { rows } = await pg.query<ClaimedMessage>({
    name: 'bulksms-claim',
    text: `UPDATE messages m
        SET status = CASE WHEN x.suppressed THEN 'suppressed'::"MessageStatus" ELSE 'sending'::"MessageStatus" END,
            attempts = m.attempts + CASE WHEN x.suppressed THEN 0 ELSE 1 END,
            failure_reason = CASE WHEN x.suppressed THEN 'suppressed at send time' ELSE m.failure_reason END,
            sending_at = now(), updated_at = now()
       FROM (SELECT m2.id, EXISTS (SELECT 1 FROM suppressions s WHERE s.phone = m2.phone) AS suppressed
               FROM messages m2 WHERE m2.id = ANY($1::bigint[]) AND m2.status = 'queued' OFFSET 0) x,
            campaigns c
      WHERE m.id = x.id AND m.status = 'queued' AND c.id = m.campaign_id AND c.status = 'running'
  RETURNING m.id::text AS id, m.status::text AS status, m.phone, m.text, m.vars, m.attempts, ${CLAIM_TOKEN_SQL('m')}::text AS "claimedAt"`,
    values: [ids],
  });
  const suppressed = rows.filter((m) => m.status === 'suppressed').length;
  if (suppressed) messageOutcomes.inc({ status: 'suppressed' }, suppressed);
  return rows.sort((a, b) => compareIds(a.id, b.id));
}

/** What a finished (or abandoned) attempt turns a `sending` message into. */
export interface OutcomeRow {
  id: string;
  /** The attempt number the claim produced. */
  attempts: number;
  /** The claim's identity (ClaimedMessage.claimedAt): the write applies only to that claim, never a newer one. */
  claimedAt: string;
  /** `release` = not sent after all (paused/cancelled meanwhile): back to pending, or cancelled. */
  status: 'sent' | 'failed' | 'unknown' | 'pending' | 'release';
  sessionId?: string | null;
  outcomeClass?: string | null;
  providerText?: string | null;
  failureReason?: string | null;
  /** For `pending`: earliest next attempt, ms from now. */
  delayMs?: number | null;
  /** -1 when this attempt must not count (throttled, campaign paused, released). */
  attemptsDelta?: number;
}

/**
 * Writes attempts' outcomes in one statement. The claim's own outcome also lands on a message that crash recovery
 * called `unknown` meanwhile (its claim lease ran out while the worker, slow but alive, still waited for the
 * answer): a `sent` with its session id, or a final `failed`, is the answer `unknown` stood for, and without the
 * session id that message's delivery report could never be matched. The claim token still identifies that
 * attempt (recovery keeps sending_at); a retry of `unknown` starts a new claim, which this one can no longer
 * match. A release or a retryable answer proves the opposite, that the request never left: the message becomes
 * `failed` (outcome class `retryable`), which `campaign retry` sends again without `--include-unknown` — left
 * `unknown`, a recipient known not to have been sent to could only be recovered together with the ones that may
 * have been (a duplicate each). Neither is ever sent again without an explicit retry.
 *
 * A message going back to `pending` (released, or a retry later) becomes `cancelled` instead when its campaign is:
 * a cancel does not touch `sending` rows, so a retryable answer arriving after it left the message pending under a cancelled campaign for good. The campaign's status is read
 * under its row lock (FOR SHARE, only for these rows; read after the lock, not filtered before it, so a cancel
 * being committed is waited for) — judged on the statement's snapshot, one committing mid-statement was missed.
 */
export async function writeOutcomes(pg: Pool, rows: readonly OutcomeRow[]): Promise<number> {
  if (!rows.length) return 0;
  // The statuses really written, counted by PostgreSQL (a few rows back, not one per message): a stale row writes
  // nothing, and a released one may become `cancelled`. `was` is each row's status as it is written over, read
  // under the row's lock (FOR UPDATE: the version a concurrent recovery committed, not the statement's snapshot):
  // an `unknown` that recovery has already counted is counted apart when its answer lands, not a second time.
  const res = await pg.query<{ status: string; late: boolean; n: number }>({
    name: 'bulksms-outcomes',
    text: `WITH v AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::int[], $10::bigint[])
            AS v(id, attempts, status, session_id, outcome_class, provider_text, failure_reason, delay_ms, delta, claimed_at)),
     was AS (SELECT m.id, m.status AS was FROM messages m JOIN v ON m.id = v.id
              WHERE ${OUTCOME_APPLIES} FOR UPDATE OF m),
     written AS (UPDATE messages m
        SET status = (CASE WHEN v.status NOT IN ('release', 'pending') THEN v.status
                           WHEN (SELECT c.status FROM campaigns c WHERE c.id = m.campaign_id FOR SHARE) = 'cancelled'
                           THEN 'cancelled' WHEN m.status = 'unknown' THEN 'failed' ELSE 'pending' END)::"MessageStatus",
            attempts = m.attempts + v.delta,
            session_id = COALESCE(v.session_id, m.session_id),
            outcome_class = CASE WHEN m.status = 'unknown' AND v.status IN ('release', 'pending') THEN 'retryable'::"OutcomeClass"
                                 ELSE COALESCE(v.outcome_class::"OutcomeClass", m.outcome_class) END,
            provider_text = COALESCE(v.provider_text, m.provider_text),
            failure_reason = CASE WHEN v.status = 'sent' THEN NULL
                                  WHEN m.status = 'unknown' AND v.status IN ('release', 'pending')
                                  THEN 'not sent: handed back after its claim lease had expired'
                                  ELSE COALESCE(v.failure_reason, m.failure_reason) END,
            next_attempt_at = CASE WHEN v.delay_ms IS NULL OR m.status = 'unknown' THEN NULL ELSE now() + v.delay_ms * interval '1 millisecond' END,
            sending_at = CASE WHEN v.status IN ('pending', 'release') THEN NULL ELSE m.sending_at END,
            sent_at = CASE WHEN v.status = 'sent' THEN now() ELSE m.sent_at END,
            failed_at = CASE WHEN v.status = 'failed' THEN now() ELSE m.failed_at END,
            updated_at = now()
       FROM v, was w
      WHERE m.id = v.id AND w.id = m.id AND ${OUTCOME_APPLIES}
  RETURNING m.status, w.was)
  SELECT status::text AS status, was = 'unknown' AS late, count(*)::int AS n FROM written GROUP BY 1, 2`,
    values: [
      rows.map((r) => r.id),
      rows.map((r) => r.attempts),
      rows.map((r) => r.status),
      rows.map((r) => r.sessionId ?? null),
      rows.map((r) => r.outcomeClass ?? null),
      rows.map((r) => r.providerText ?? null),
      rows.map((r) => r.failureReason ?? null),
      rows.map((r) => (r.delayMs == null ? null : Math.round(r.delayMs))),
      rows.map((r) => r.attemptsDelta ?? 0),
      rows.map((r) => r.claimedAt),
    ],
  });
  let written = 0;
  for (const { status, late, n } of res.rows) {
    (late ? unknownResolved : messageOutcomes).inc({ status }, n);
    written += n;
  }
  return written;
}

/**
 * SQL (aliases m = the message, v = the outcome): the outcome is still its message's to write — the same claim
 * (attempt and claim token), and the message `sending`, or `unknown` (recovery's guess) and the outcome an answer.
 */
const OUTCOME_APPLIES = `m.attempts = v.attempts AND ${CLAIM_TOKEN_SQL('m')} = v.claimed_at
        AND (m.status = 'sending' OR (m.status = 'unknown' AND v.status <> 'unknown'))`;

export interface OutcomeWriterOptions {
  /**
   * Flush after this many ms even if the batch is small (default 40). Each flush is one UPDATE plus the
   * afterCommit lookup; at 2000/s, 40 ms makes batches of ~80 rows, which cost PostgreSQL ~15 µs less per
   * message than batches of 30 (15 ms). The price: a worker killed mid-flight leaves that much more of its
   * finished requests to become `unknown`, small next to the requests in flight.
   */
  flushMs?: number;
  /** Flush as soon as this many rows wait. */
  maxRows?: number;
  onError?: (err: unknown) => void;
  /**
   * Runs after each committed batch (its callers already released), e.g. to apply delivery reports that
   * arrived before these outcomes (src/delivery/early-reports.ts). Its errors go to `onError`, never to callers.
   */
  afterCommit?: (rows: readonly OutcomeRow[]) => Promise<unknown>;
}

/**
 * Group commit: outcomes from all concurrent sends are written by one UPDATE … FROM unnest every few ms. Each
 * caller gets a promise that resolves once its row is durable, so a job is acknowledged only after that.
 */
export class OutcomeWriter {
  private pending: PendingOutcome[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly flushMs: number;
  private readonly maxRows: number;

  constructor(
    private readonly pg: Pool,
    private readonly opts: OutcomeWriterOptions = {},
  ) {
    this.flushMs = opts.flushMs ?? 40;
    this.maxRows = opts.maxRows ?? 500;
  }

  write(row: OutcomeRow): Promise<void> {
    return this.writeMany([row]);
  }

  /**
   * Rows that must commit together — one request's recipients (a packed send shares one session id): split
   * across two batches, a delivery report arriving between the commits saw half a session and could be matched
   * to the wrong recipient. A batch may exceed maxRows by one group.
   */
  writeMany(rows: readonly OutcomeRow[]): Promise<void> {
    const done = rows.map((row) => new Promise<void>((resolve, reject) => this.pending.push({ row, resolve, reject })));
    if (this.pending.length >= this.maxRows) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.flushMs);
    return Promise.all(done).then(() => undefined);
  }

  /** Writes everything queued so far (waits for a flush already running first). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.flushing) await this.flushing;
    if (!this.pending.length) return;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.commit(batch).finally(() => {
      this.flushing = null;
    });
    await this.flushing;
    if (this.pending.length && !this.timer) this.timer = setTimeout(() => void this.flush(), this.flushMs);
  }

  private async commit(batch: PendingOutcome[]): Promise<void> {
    // Outcomes of requests that were really made must not be lost: retried while PostgreSQL is unreachable,
    // restarting or failing over, however long that takes (the job stays unacknowledged meanwhile). Given up after
    // ~25 s, a restart with crash recovery or a failover left the messages `sending` for the recovery lease to call
    // `unknown`: an accepted request's session id was lost, a request certainly not sent was never sent.
    for (let attempt = 0; ; attempt++) {
      try {
        await writeOutcomes(this.pg, batch.map((b) => b.row));
        for (const b of batch) b.resolve();
        if (this.opts.afterCommit) await this.opts.afterCommit(batch.map((b) => b.row)).catch((err: unknown) => this.opts.onError?.(err));
        return;
      } catch (err) {
        this.opts.onError?.(err);
        // A row PostgreSQL refuses (a data exception: a value out of range, not a connection problem) fails on
        // every retry and took the whole batch with it — other requests' outcomes too. Write those one by one.
        if (isDataException(err)) {
          if (batch.length > 1) return this.commitEach(batch);
          for (const b of batch) b.reject(err);
          return;
        }
        if (attempt >= 8 && !isUnavailable(err)) {
          for (const b of batch) b.reject(err);
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 5_000)));
      }
    }
  }

  /** Row by row (each with commit's own retries): only a row PostgreSQL refuses is rejected. */
  private async commitEach(batch: PendingOutcome[]): Promise<void> {
    for (const b of batch) await this.commit([b]);
  }
}

type PendingOutcome = { row: OutcomeRow; resolve: () => void; reject: (e: unknown) => void };

/**
 * PostgreSQL cannot take the write now but will: no answer from the server (a refused or dropped connection), class 08 (connection exception), 57P0x (shutting down, starting up), 53 (out of connections or
 * resources), 25006 (a read-only server: a failover under way), 40001/40P01 (serialization failure, deadlock).
 */
function isUnavailable(err: unknown): boolean {
  // Not the server's answer: unavailable only if it is a connection failure. A bug of ours (a TypeError while
  // encoding the rows) is retried 8 times and then fails the job, not retried for ever with the job held.
  if (!(err instanceof DatabaseError)) return isUnreachable(err);
  const code = err.code ?? '';
  return code.startsWith('08') || code.startsWith('57P') || code.startsWith('53') || ['25006', '40001', '40P01'].includes(code);
}

/** SQLSTATE class 22 (data exception): the statement's data is wrong; retrying the same rows cannot help. */
function isDataException(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('22');
}

/** The message statuses, as the counters' columns name them. */
const MESSAGE_STATUS_NAMES = ['pending', 'queued', 'sending', 'sent', 'delivered', 'failed', 'unknown', 'suppressed', 'cancelled'] as const;

/**
 * Makes the run's counters equal to the sums over its messages (run rows are small; counts use the index) plus what
 * the archive deleted of them (`run_archived_counts`, kept in the same transactions as the archive's deletions and
 * the restore's inserts, so the sum is exact at every commit — also while the archive deletes in batches). Frozen
 * instead once the archive had removed rows, as they were, a run's counters never showed a row that changed after
 * the export (a late delivery report: the archive keeps such a row in the database for its next file).
 */
export async function refreshRunCounters(pg: Pool | PoolClient, runIds: readonly string[]): Promise<void> {
  if (!runIds.length) return;
  const sum = (status: string) => `COALESCE(sum(a.n) FILTER (WHERE a.status = '${status}'), 0)::int AS ${status}`;
  await pg.query(
    `UPDATE campaign_runs r
        SET total = x.total + COALESCE(y.total, 0), pending = x.pending + COALESCE(y.pending, 0),
            queued = x.queued + COALESCE(y.queued, 0), sending = x.sending + COALESCE(y.sending, 0),
            sent = x.sent + COALESCE(y.sent, 0), delivered = x.delivered + COALESCE(y.delivered, 0),
            failed = x.failed + COALESCE(y.failed, 0), unknown = x.unknown + COALESCE(y.unknown, 0),
            suppressed = x.suppressed + COALESCE(y.suppressed, 0), cancelled = x.cancelled + COALESCE(y.cancelled, 0)
       FROM (SELECT r2.id,
                    count(m.id)::int AS total,
                    count(m.id) FILTER (WHERE m.status = 'pending')::int AS pending,
                    count(m.id) FILTER (WHERE m.status = 'queued')::int AS queued,
                    count(m.id) FILTER (WHERE m.status = 'sending')::int AS sending,
                    count(m.id) FILTER (WHERE m.status = 'sent')::int AS sent,
                    count(m.id) FILTER (WHERE m.status = 'delivered')::int AS delivered,
                    count(m.id) FILTER (WHERE m.status = 'failed')::int AS failed,
                    count(m.id) FILTER (WHERE m.status = 'unknown')::int AS unknown,
                    count(m.id) FILTER (WHERE m.status = 'suppressed')::int AS suppressed,
                    count(m.id) FILTER (WHERE m.status = 'cancelled')::int AS cancelled
               FROM campaign_runs r2 LEFT JOIN messages m ON m.run_id = r2.id
              WHERE r2.id = ANY($1::uuid[])
              GROUP BY r2.id) x
       LEFT JOIN (SELECT a.run_id, COALESCE(sum(a.n), 0)::int AS total, ${MESSAGE_STATUS_NAMES.map(sum).join(', ')}
                    FROM run_archived_counts a WHERE a.run_id = ANY($1::uuid[]) GROUP BY a.run_id) y ON y.run_id = x.id
      WHERE r.id = x.id`,
    [runIds],
  );
}

/**
 * SQL: adds to the runs' archived counts the rows the CTE `source` yields (columns `run_id`, `status`): `sign` 1 for
 * rows the archive deleted, -1 for rows a restore brought back. Part of the statement that deletes or inserts them.
 */
export const ARCHIVED_COUNTS_UPSERT = (source: string, sign: 1 | -1): string =>
  `INSERT INTO run_archived_counts (run_id, status, n)
   SELECT run_id, status, ${sign} * count(*)::int FROM ${source} GROUP BY run_id, status
   ON CONFLICT (run_id, status) DO UPDATE SET n = run_archived_counts.n + EXCLUDED.n`;
