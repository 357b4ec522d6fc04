/**
 * Delivery reports that arrive before their send outcome is committed ("early reports").
 *
 * A report can be pushed moments after the provider accepted a message, before our group-committed outcome
 * write has stored the session id (the send answer takes 100–500 ms, the outcome is committed a few ms later,
 * and a handset can answer faster than that). The webhook would then find no message for the session.
 *
 * Why we park the report instead of answering non-2xx and letting the provider retry: 2Factor documents no
 * callback at all, and the sister platform's callback document (reference §5, Dial2Verify) says nothing about
 * retries, so a 4xx/5xx most likely loses the report for good; an endpoint failing a share of callbacks also
 * looks broken to the provider's operations. So the webhook answers 200, keeps the report in PostgreSQL
 * (`early_delivery_reports`, for EARLY_REPORT_TTL_MS at most) and it is applied as soon as the session id lands:
 *   - the outcome writer applies parked reports for the session ids it has just committed (`afterCommit`);
 *   - the delivery-report poller sweeps the table, a page of it per poll, a backstop for a worker that died between
 *     its commit and that hook, and drops reports older than the TTL (sessions we never learned, e.g. `unknown`).
 * No lock is needed: the webhook parks *then* re-reads the messages, the writer commits *then* reads the parked
 * reports, so at least one of them sees the other's write. Applying is a conditional UPDATE on `sent/unknown`,
 * so when both see it the message still changes status exactly once.
 */
import type { Container } from '../container';
import { applyPairs, type ApplySummary, type ResultEntry, type SessionMessage } from './apply-reports';
import { samePhone } from '../provider/twofactor/delivery-status';

/** Reports for sessions still unknown after this long are dropped (the session id was never recorded). */
export const EARLY_REPORT_TTL_MS = 6 * 3_600_000;

type Deps = Pick<Container, 'pg' | 'logger' | 'redis' | 'config'>;

export interface EarlyReport extends ResultEntry {
  sessionId: string;
  state: 'delivered' | 'failed';
}

/** Keeps a final report for a session not (yet) in `messages`. A repeat of the same report is a no-op. */
export async function parkReport(deps: Pick<Container, 'pg'>, report: EarlyReport, now: Date): Promise<void> {
  await deps.pg.query(
    `INSERT INTO early_delivery_reports (session_id, phone, state, reason, dlt_reject, received_at)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id, phone) DO NOTHING`,
    [report.sessionId, report.phone, report.state, report.reason, report.dltReject, now],
  );
}

/** True when some message already carries this session id (whatever its status). */
export async function sessionKnown(deps: Pick<Container, 'pg'>, sessionId: string): Promise<boolean> {
  const { rows } = await deps.pg.query(`SELECT 1 FROM messages WHERE session_id = $1 LIMIT 1`, [sessionId]);
  return rows.length > 0;
}

interface ParkedRow {
  sessionId: string;
  phone: string;
  state: 'delivered' | 'failed';
  reason: string | null;
  dltReject: boolean;
}

const PARKED_COLUMNS = `e.session_id AS "sessionId", e.phone, e.state, e.reason, e.dlt_reject AS "dltReject"`;

const noneApplied = (): ApplySummary => ({ delivered: 0, failed: 0, pending: 0, unmatched: 0, dltFlagged: [], dltPaused: [] });

/**
 * Applies parked reports of these sessions that are now in `messages` and deletes them (the outcome writer's hook
 * and the webhook: one indexed lookup, nearly always empty).
 */
export async function applyParkedReports(deps: Deps, sessionIds: readonly string[], now: Date = new Date()): Promise<ApplySummary> {
  if (sessionIds.length === 0) return noneApplied();
  const parked = await deps.pg.query<ParkedRow>(`SELECT ${PARKED_COLUMNS} FROM early_delivery_reports e WHERE e.session_id = ANY($1::text[])`, [sessionIds]);
  return applyParked(deps, parked.rows, now);
}

/** Applies these parked reports where their session is recorded, and deletes the ones that are done. */
async function applyParked(deps: Deps, parkedRows: readonly ParkedRow[], now: Date): Promise<ApplySummary> {
  if (!parkedRows.length) return noneApplied();
  const sessions = [...new Set(parkedRows.map((r) => r.sessionId))];
  const { rows: messages } = await deps.pg.query<SessionMessage & { sessionId: string; open: boolean }>(
    `SELECT id::text AS id, phone, campaign_id AS "campaignId", session_id AS "sessionId", status IN ('sent', 'unknown') AS open
       FROM messages WHERE session_id = ANY($1::text[])`,
    [sessions],
  );
  const pairs: Array<[SessionMessage, ResultEntry]> = [];
  const resolved: ParkedRow[] = [];
  let strays = 0;
  for (const sessionId of sessions) {
    const reports = parkedRows.filter((r) => r.sessionId === sessionId);
    const all = messages.filter((m) => m.sessionId === sessionId);
    if (!all.length) continue; // still early: keep it
    // One message and one report: the numbers may be written differently (applyResults' rule). Otherwise (a
    // packed send) a report only pairs with its own number, never with another recipient's message. `all` is the
    // whole session: a request's outcomes commit together (OutcomeWriter.writeMany), never half a pack.
    const single = all.length === 1 && reports.length === 1;
    for (const report of reports) {
      // Done once its session is recorded: applied now, already final (a repeat), or matching none of the session's
      // recipients — which no later write can change (the webhook drops such a report for a known session too).
      // Kept, such reports were re-read by every sweep until they expired, misreported as "session id never
      // recorded", and once 1000 of them were parked they filled the sweep's batch: reports behind them waited
      // out the TTL and were dropped unapplied.
      resolved.push(report);
      const m = single ? all[0] : all.find((x) => samePhone(x.phone, report.phone));
      if (!m) strays++;
      else if (m.open) pairs.push([{ id: m.id, phone: m.phone, campaignId: m.campaignId, alone: all.length === 1 }, report]);
    }
  }
  if (strays) deps.logger.warn({ reports: strays }, 'early delivery reports dropped: their number matches no recipient of their session');
  const summary = await applyPairs(deps, pairs, now);
  if (resolved.length) {
    await deps.pg.query(
      `DELETE FROM early_delivery_reports e USING unnest($1::text[], $2::text[]) AS v(session_id, phone)
        WHERE e.session_id = v.session_id AND e.phone = v.phone`,
      [resolved.map((r) => r.sessionId), resolved.map((r) => r.phone)],
    );
  }
  if (summary.delivered + summary.failed) deps.logger.debug({ ...summary, sessions: sessions.length }, 'early delivery reports applied');
  return summary;
}

/** Parked reports a sweep reads per page (one poll's share of the backstop). */
export const SWEEP_PAGE = 1000;

/** The key of a parked report (its primary key), where a sweep goes on from. */
type ParkedKey = readonly [sessionId: string, phone: string];
const TABLE_START: ParkedKey = ['', ''];

/**
 * One page of the table in primary-key order after `after`, each row with whether its session is recorded now: one
 * index probe of `messages` per parked report (LATERAL … LIMIT 1: a probe each, never a hash of the whole table).
 * Asked of the whole table at once ("parked reports whose session exists"), PostgreSQL joined it to every session id
 * in `messages` (a merge or hash join reading the whole index: 0.66 s at 1M messages, every poll of every worker) as
 * soon as reports of sessions never recorded had piled up — every SMS of the account's other products when 2Factor
 * posts the account's callbacks here, or `unknown` sends.
 */
async function readPage(deps: Pick<Container, 'pg'>, after: ParkedKey, limit: number): Promise<Array<ParkedRow & { recorded: boolean }>> {
  const { rows } = await deps.pg.query<ParkedRow & { recorded: boolean }>(
    `WITH page AS MATERIALIZED (
       SELECT * FROM early_delivery_reports WHERE (session_id, phone) > ($1::text, $2::text) ORDER BY session_id, phone LIMIT $3)
     SELECT ${PARKED_COLUMNS}, x.recorded IS NOT NULL AS recorded
       FROM page e LEFT JOIN LATERAL (SELECT true AS recorded FROM messages m WHERE m.session_id = e.session_id LIMIT 1) x ON true
      ORDER BY e.session_id, e.phone`,
    [after[0], after[1], limit],
  );
  return rows;
}

export interface SweepResult {
  applied: number;
  expired: number;
}

async function dropExpired(deps: Deps, now: Date, ttlMs: number): Promise<number> {
  const expired = await deps.pg.query(`DELETE FROM early_delivery_reports WHERE received_at < $1`, [new Date(now.getTime() - ttlMs)]);
  if (expired.rowCount) deps.logger.warn({ expired: expired.rowCount }, 'early delivery reports expired: their session id was never recorded');
  return expired.rowCount ?? 0;
}

/**
 * The poller's backstop, a page per sweep: each sweep reads the next `pageSize` parked reports (in key order,
 * starting over at the end), applies those whose session is recorded now and drops the expired ones. Its cost is a
 * page's index probes whatever the sizes of `messages` and of the table; a report waits at most one tour of the
 * table (every sweep while fewer than a page are parked), and only when the outcome writer's hook missed it.
 */
export function createEarlyReportSweeper(opts: { pageSize?: number; ttlMs?: number } = {}): { sweep(deps: Deps, now?: Date): Promise<SweepResult> } {
  const pageSize = opts.pageSize ?? SWEEP_PAGE;
  const ttlMs = opts.ttlMs ?? EARLY_REPORT_TTL_MS;
  let after: ParkedKey = TABLE_START;
  return {
    async sweep(deps, now = new Date()) {
      let page = await readPage(deps, after, pageSize);
      // The last page was full and ended the table: start over now rather than spend this sweep on nothing.
      if (!page.length && after !== TABLE_START) page = await readPage(deps, TABLE_START, pageSize);
      const last = page[page.length - 1];
      after = page.length < pageSize || !last ? TABLE_START : [last.sessionId, last.phone];
      const r = await applyParked(deps, page.filter((p) => p.recorded), now);
      return { applied: r.delivered + r.failed, expired: await dropExpired(deps, now, ttlMs) };
    },
  };
}

/** One whole tour of the table, page by page: apply what can be applied, drop what expired. */
export async function sweepEarlyReports(deps: Deps, now: Date = new Date(), ttlMs = EARLY_REPORT_TTL_MS): Promise<SweepResult> {
  let applied = 0;
  for (let after: ParkedKey = TABLE_START; ; ) {
    const page = await readPage(deps, after, SWEEP_PAGE);
    const r = await applyParked(deps, page.filter((p) => p.recorded), now);
    applied += r.delivered + r.failed;
    const last = page[page.length - 1];
    if (page.length < SWEEP_PAGE || !last) break;
    after = [last.sessionId, last.phone];
  }
  return { applied, expired: await dropExpired(deps, now, ttlMs) };
}
