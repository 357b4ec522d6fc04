/**
 * Pull delivery reports (`RPT/TSMS/{sessionId}`) for `sent` messages.
 *
 * - Budget: every provider request first takes a slot from the injected `acquireSlot` (the sending team's
 *   account-wide pacer), so report polling shares the provider's rate limit with sending and never exceeds it.
 * - Batching: one request per session id (a packed send has several recipients under one session).
 * - Back-off: a session is checked `baseDelayMs` after sending, then after 2x, 4x ... up to `maxDelayMs`
 *   (`dlr_checks`, `dlr_checked_at`); claiming bumps both, so several pollers never ask for the same session.
 * - Give up: messages sent more than `maxAgeMs` ago are no longer polled and stay `sent`.
 * - A failing provider: once `failingAfter` report requests in a row fail (5xx, resets, an Error envelope), the pass
 *   stops, its unasked sessions are given back, and polling waits idleMs x 2, x 4, ... up to `failingBackoffMaxMs`
 *   before asking again (one warning per pause, not one per session). Each session's own back-off alone did not
 *   slow it: every due session was still asked once per step (a campaign's 100k sessions, 100k failing requests
 *   per step, taking slots of the sending budget and hammering an endpoint that was down or, on an account whose
 *   R1 references RPT/TSMS does not know (reference §5), refusing every one of them for DLR_MAX_AGE_HOURS).
 * - Throttled (429): the request spent a slot of the account's budget and was refused for the account's rate, so it
 *   slows the shared pacer as a throttled send does (Slot.throttled), and its session is given back due, like an
 *   unasked one: counted as a step, a throttled session waited 2x longer for an answer it never had, and counted as
 *   a failure, a few 429s in a row paused all polling as if the provider were down.
 * - Backstop for pushed reports that arrived before their send outcome (early-reports.ts): a page swept every poll.
 */
import type { Container } from '../container';
import { coerceError } from '../errors';
import { isThrottledError, type DeliveryReportEntry, type SmsProvider } from '../provider/sms-provider';
import { ALONE_IN_SESSION, applyResults, type ResultEntry, type SessionMessage } from './apply-reports';
import { createEarlyReportSweeper } from './early-reports';
import type { Slot } from './paced-slot';

export interface DlrPollerOptions {
  provider: Pick<SmsProvider, 'deliveryReport'>;
  /** Resolves when one provider request may be made (shared account-wide pacer). */
  acquireSlot: () => Promise<Slot | void>;
  now?: () => Date;
  /** Sessions per poll. */
  batchSize?: number;
  /** Parallel report requests (each still waits for a slot); default DLR_POLL_CONCURRENCY. */
  concurrency?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  maxAgeMs?: number;
  /** Pause between polls when there was nothing (or little) to do. */
  idleMs?: number;
  /** Report requests failing in a row that end a pass and pause polling; default 2 x concurrency (at least 4, at most batchSize). */
  failingAfter?: number;
  /** Longest pause of polling while the provider keeps failing report requests; default 5 minutes. */
  failingBackoffMaxMs?: number;
}

export interface PollSummary {
  sessions: number;
  requests: number;
  delivered: number;
  failed: number;
  pending: number;
  notFound: number;
  errors: number;
  /** Report requests the provider throttled (429): given back as due, not counted as errors. */
  throttled: number;
  /** The pass stopped early: `failingAfter` report requests in a row failed (the rest was given back, unasked). */
  providerFailing: boolean;
}

export interface DlrPoller {
  pollOnce(): Promise<PollSummary>;
  start(): void;
  stop(): Promise<void>;
}

type Deps = Pick<Container, 'pg' | 'logger' | 'config' | 'redis'>;

/**
 * Claims due sessions. The due condition is repeated in the UPDATE so that, when two pollers race, the second
 * one re-checks the rows after the first committed its bump and skips them.
 */
const DUE = `m.status = 'sent' AND m.session_id IS NOT NULL
   AND COALESCE(m.sent_at, m.updated_at) > $1::timestamptz - make_interval(secs => $2::float8 / 1000)
   AND COALESCE(m.dlr_checked_at, m.sent_at, m.updated_at)
       + make_interval(secs => LEAST($4::float8, $3::float8 * power(2, LEAST(m.dlr_checks, 30))) / 1000) <= $1::timestamptz`;

/**
 * Runs that can hold a due message: not finished, or finished less than twice the give-up age ago. Without it the
 * claim read every message ever kept (a year by default: RETENTION_DAYS) on each poll of each worker — no index
 * leads to `status = 'sent'` alone; ~45 ms per poll at 300k messages, whole seconds at tens of millions — while
 * through the runs it reads their `sent` rows on the (run_id, status, id) index. A message is sent before its run
 * finishes, or moments after (a request in flight when the run is cancelled, a slow worker's late outcome on an
 * `unknown` one); the second give-up age is the margin for such an outcome written late (the outcome writer retries
 * while PostgreSQL is down), far beyond any timeout.
 */
const RECENT_RUN = `m.run_id IN (SELECT r.id FROM campaign_runs r
   WHERE r.completed_at IS NULL OR r.completed_at > $1::timestamptz - make_interval(secs => 2 * $2::float8 / 1000))`;

export const CLAIM_SQL = `
  WITH due AS (SELECT DISTINCT m.session_id FROM messages m WHERE ${RECENT_RUN} AND ${DUE} LIMIT $5)
  UPDATE messages m SET dlr_checked_at = $1, dlr_checks = m.dlr_checks + 1
    FROM due WHERE m.session_id = due.session_id AND ${DUE}
  RETURNING m.id::text AS id, m.session_id AS "sessionId", m.phone, m.campaign_id AS "campaignId", ${ALONE_IN_SESSION} AS alone`;

const toResult = (e: DeliveryReportEntry): ResultEntry => ({
  phone: e.phone,
  state: e.state,
  reason: e.reason,
  dltReject: e.dltReject,
});

export function createDlrPoller(deps: Deps, opts: DlrPollerOptions): DlrPoller {
  const now = opts.now ?? ((): Date => new Date());
  const log = deps.logger.child({ component: 'dlr-poller' });
  const batchSize = opts.batchSize ?? 100;
  const baseDelayMs = opts.baseDelayMs ?? 10_000;
  const maxDelayMs = opts.maxDelayMs ?? 30 * 60_000;
  const maxAgeMs = opts.maxAgeMs ?? deps.config.DLR_MAX_AGE_HOURS * 3_600_000;
  let loop: Promise<void> | null = null;
  let stopping = false;
  let wake: (() => void) | null = null;
  /** Aborted by stop(): report requests are read-only, so one cut short is simply asked again later. */
  let stopRequests = new AbortController();
  const earlyReports = createEarlyReportSweeper();
  const concurrency = opts.concurrency ?? deps.config.DLR_POLL_CONCURRENCY;
  const idleMs = opts.idleMs ?? 2000;
  // At most a pass: with DLR_POLL_CONCURRENCY above half the batch, no pass could ever count that many failures.
  const failingAfter = Math.min(batchSize, opts.failingAfter ?? Math.max(4, 2 * concurrency));
  const failingBackoffMaxMs = opts.failingBackoffMaxMs ?? 5 * 60_000;
  /** Report requests of the current pass that failed in a row, and the last one's error. */
  let failedInARow = 0;
  let lastFailure = '';
  /** Passes in a row that stopped on a failing provider, and when (Date.now()) the loop may poll again. */
  let failingPasses = 0;
  let pollAfter = 0;

  /**
   * Asks for one session's report and applies it. 'aborted': stop() cut the request short (not asked); 'throttled':
   * the provider refused it for the account's rate. Either way the session is to be given back.
   */
  async function pollSession(
    sessionId: string,
    messages: SessionMessage[],
    summary: PollSummary,
    slot: Slot | void,
  ): Promise<'answered' | 'aborted' | 'throttled'> {
    const signal = stopRequests.signal;
    summary.requests += 1;
    try {
      const report = await opts.provider.deliveryReport(sessionId, signal, slot ? slot.onWrite : undefined);
      if (!report.found) {
        failedInARow = 0;
        summary.notFound += 1;
        return 'answered';
      }
      failedInARow = 0;
      const r = await applyResults(deps, messages, report.entries.map(toResult), now());
      summary.delivered += r.delivered;
      summary.failed += r.failed;
      summary.pending += r.pending;
    } catch (err) {
      if (signal.aborted) return 'aborted';
      if (isThrottledError(err)) {
        // An answer, from a provider that is up: neither a failure in a row nor the end of a run of them.
        summary.throttled += 1;
        if (slot) await slot.throttled();
        log.debug({ sessionId }, 'delivery report request throttled (429); the session stays due');
        return 'throttled';
      }
      summary.errors += 1;
      failedInARow += 1;
      lastFailure = coerceError(err).message;
      log.warn({ sessionId, err: coerceError(err).message }, 'delivery report request failed; will retry after back-off');
    }
    return 'answered';
  }

  async function pollOnce(): Promise<PollSummary> {
    const t = now();
    const { rows } = await deps.pg.query<SessionMessage & { sessionId: string }>(CLAIM_SQL, [t, maxAgeMs, baseDelayMs, maxDelayMs, batchSize]);
    const bySession = new Map<string, SessionMessage[]>();
    for (const r of rows) bySession.set(r.sessionId, [...(bySession.get(r.sessionId) ?? []), r]);
    const summary: PollSummary = { sessions: bySession.size, requests: 0, delivered: 0, failed: 0, pending: 0, notFound: 0, errors: 0, throttled: 0, providerFailing: false };
    failedInARow = 0;
    const queue = [...bySession.entries()];
    // No slot (Redis unreachable) or a stop asked for: no further request is made, and the sessions claimed but not
    // asked about are given back as due. Left claimed, each would wait out a back-off step it never had; and a
    // stopping worker that finished the pass (100 sessions, DLR_POLL_CONCURRENCY at a time) outlasted its grace.
    let slotError: unknown = null;
    const unasked: SessionMessage[] = [];
    const giveBackRest = (next: [string, SessionMessage[]]): void => {
      unasked.push(...next[1], ...queue.splice(0).flatMap(([, messages]) => messages));
    };
    const lanes = Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        if (stopping) {
          giveBackRest(next);
          break;
        }
        if (failedInARow >= failingAfter) {
          summary.providerFailing = true;
          giveBackRest(next);
          break;
        }
        let slot: Slot | void;
        try {
          if (slotError) throw slotError;
          slot = await opts.acquireSlot();
        } catch (err) {
          slotError ??= err;
          giveBackRest(next);
          break;
        }
        if (stopping) {
          giveBackRest(next);
          break;
        }
        const asked = await pollSession(next[0], next[1], summary, slot);
        if (asked === 'aborted') {
          giveBackRest(next);
          break;
        }
        if (asked === 'throttled') unasked.push(...next[1]);
      }
    });
    await Promise.all(lanes);
    if (failedInARow >= failingAfter) summary.providerFailing = true;
    if (unasked.length) {
      await deps.pg.query(
        `UPDATE messages SET dlr_checks = GREATEST(dlr_checks - 1, 0), dlr_checked_at = NULL WHERE id = ANY($1::bigint[])`,
        [unasked.map((m) => m.id)],
      );
    }
    if (slotError) throw slotError;
    if (summary.sessions) log.debug(summary, 'delivery reports polled');
    return summary;
  }

  /** After a pass: pause polling while the provider keeps failing report requests, resume when it answers. */
  function judgeProvider(summary: PollSummary): void {
    if (summary.providerFailing) {
      failingPasses += 1;
      const waitMs = Math.min(failingBackoffMaxMs, idleMs * 2 ** Math.min(failingPasses, 30));
      pollAfter = Date.now() + waitMs;
      log.warn({ failedInARow: failingAfter, lastError: lastFailure, nextPollInMs: waitMs }, 'delivery report requests keep failing: polling paused');
    } else if (summary.requests > summary.errors) {
      if (failingPasses) log.info({ pausedPasses: failingPasses }, 'delivery report requests answered again: polling resumed');
      failingPasses = 0;
    }
  }

  async function run(): Promise<void> {
    while (!stopping) {
      let full = false;
      if (Date.now() >= pollAfter) {
        try {
          const summary = await pollOnce();
          judgeProvider(summary);
          full = summary.sessions >= batchSize && !summary.providerFailing;
        } catch (err) {
          log.warn({ err: coerceError(err).message }, 'delivery report poll failed');
        }
      }
      // Its own step: early reports wait in PostgreSQL only, so a poll that failed for want of Redis must not stop it.
      try {
        await earlyReports.sweep(deps, now());
      } catch (err) {
        log.warn({ err: coerceError(err).message }, 'early delivery report sweep failed');
      }
      if (!full && !stopping) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, idleMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
    }
  }

  return {
    pollOnce,
    start() {
      stopping = false;
      if (stopRequests.signal.aborted) stopRequests = new AbortController();
      loop ??= run();
    },
    async stop() {
      stopping = true;
      stopRequests.abort();
      wake?.();
      await loop;
      loop = null;
    },
  };
}
