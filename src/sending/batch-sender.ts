/**
 * Sends one job's batch of messages: claim a chunk (queued → sending, durably), reserve paced slots, fire each
 * request at its slot, record every outcome through the group-commit writer, and return only when all outcomes
 * are durable (so the job is acknowledged after its outcomes, never before).
 *
 * Chunks keep the "claimed but not yet sent" set small: a crash turns at most the claimed messages into
 * `unknown`, i.e. the requests in flight plus up to two chunks per running job (the one being sent and the
 * next, claimed shortly before the current one's last slot).
 */
import type { Pool } from 'pg';
import type { Logger } from '../logger';
import type { SendRequest, SmsProvider } from '../provider/sms-provider';
import type { SendOutcome } from '../provider/outcome';
import type { CampaignSettings, CampaignStates } from './campaign-states';
import { claimMessages, type ClaimedMessage, type OutcomeRow, type OutcomeWriter } from './ledger';
import { decide, type Decision } from './outcome-policy';
import { OutageWatch } from './outage-watch';
import { sleepUntil, type Admission, type Pacer, type Reservation } from './pacer';
import type { SendJobData } from './keys';

export interface BatchSenderOptions {
  chunkSize: number;
  maxAttempts: number;
  /** A slot woken up later than this counts as late in the stats (informational: admission keeps the window). */
  lateToleranceMs: number;
  /** A claim older than this is released instead of sent, so the recovery lease can never hit a live request. */
  sendDeadlineMs: number;
  /** Fleet pause after a throttled answer. */
  throttlePenaltyMs: number;
  /**
   * A job claims and reserves its next chunk this long before the current chunk's last slot (default 50 ms).
   * Slots are handed out back to back in one fleet-wide sequence; when every job is between chunks (claiming,
   * waiting for Redis, or stalled by GC) the sequence falls behind the clock and those slots are lost for good —
   * a sliding window cannot make them up later. Waiting for the last slot measured 3.2 % of the time lost at
   * 2000/s; a 50 ms lead 0.4 %. Costs at most one more chunk claimed-but-unsent per job (still within its batch).
   */
  reserveLeadMs?: number;
  /**
   * Answers in a row for one campaign that show the provider down — of unknown fate, or no connection at all — with
   * no accepted or recipient-refused answer between them, that pause it (default 25; see outage-watch.ts). An outage
   * otherwise turns the whole list `unknown` at full speed, or spends every message's attempts and fails it.
   */
  outageStreakLimit?: number;
}

export interface BatchSenderDeps {
  pg: Pool;
  provider: SmsProvider;
  pacer: Pacer;
  writer: OutcomeWriter;
  states: CampaignStates;
  logger: Logger;
  /** Pauses the campaign fleet-wide (account-fatal / permanent-campaign outcomes). */
  pause(campaignId: string, reason: string): Promise<void>;
  /** True once the worker is shutting down: stop claiming, finish what is in flight. */
  closing(): boolean;
  random?: () => number;
}

interface Group {
  messages: ClaimedMessage[];
  claimedAt: number;
}

/** Consecutive messages with identical content share one request (packing), up to packSize recipients. */
export function packMessages(messages: readonly ClaimedMessage[], packSize: number): ClaimedMessage[][] {
  const groups: ClaimedMessage[][] = [];
  const key = (m: ClaimedMessage) => m.text ?? JSON.stringify(m.vars);
  for (const m of messages) {
    const last = groups[groups.length - 1];
    if (last && packSize > 1 && last.length < packSize && key(last[0]!) === key(m)) last.push(m);
    else groups.push([m]);
  }
  return groups;
}

export function buildRequest(campaign: CampaignSettings, messages: readonly ClaimedMessage[]): SendRequest {
  const first = messages[0]!;
  return {
    module: campaign.module,
    to: messages.map((m) => m.phone),
    from: campaign.sender,
    content: campaign.templateName
      ? { kind: 'template', name: campaign.templateName, vars: first.vars ?? [] }
      : { kind: 'text', text: first.text ?? '' },
    ...(campaign.peid ? { peid: campaign.peid } : {}),
    ...(campaign.ctid ? { ctid: campaign.ctid } : {}),
  };
}

/** Counters for benchmarks and health: requests made, slots woken up for late, admission waits, claims released. */
export interface SenderStats {
  requests: number;
  lateSlots: number;
  /** Requests that had to wait for the sliding window (after lateness bunched requests together). */
  admitWaits: number;
  /** Requests that left noticeably after their admission: their window entry was moved to the real departure. */
  lateAdmissions: number;
  released: number;
}

export function createBatchSender(deps: BatchSenderDeps, opts: BatchSenderOptions) {
  const random = deps.random ?? Math.random;
  const reserveLeadMs = opts.reserveLeadMs ?? 50;
  /** Per campaign, in this process: failing answers since the provider last proved it works. */
  const outages = new OutageWatch(opts.outageStreakLimit ?? 25);
  const stats: SenderStats = { requests: 0, lateSlots: 0, admitWaits: 0, lateAdmissions: 0, released: 0 };

  // One request's rows commit together (writeMany): a packed session is never half-recorded.
  const record = (rows: OutcomeRow[]): Promise<unknown> => deps.writer.writeMany(rows);
  const release = (group: Group, extra: Partial<Omit<OutcomeRow, 'id' | 'attempts' | 'claimedAt'>> = {}): Promise<unknown> =>
    record(group.messages.map((m) => ({ id: m.id, attempts: m.attempts, claimedAt: m.claimedAt, status: 'release', attemptsDelta: -1, ...extra })));
  /** Claimed but certainly not sent (paused meanwhile, held too long, Redis unreachable): counted and handed back. */
  const handBackUnsent = (group: Group): Promise<unknown> => {
    stats.released += group.messages.length;
    return release(group);
  };

  /**
   * Waits for the paced slot, then for admission into the fleet-wide sliding window. Waking up late (event-loop
   * stall, CPU starvation) needs no special handling: admission records the real dispatch time, so a late
   * request can never push a 1 s window over the limit — at worst it waits a moment for the window to slide.
   */
  async function waitForSlot(at: number, earliest: number): Promise<void> {
    await sleepUntil(at);
    if (performance.now() - earliest > opts.lateToleranceMs) stats.lateSlots++;
  }

  /** Stops this process claiming for the campaign at once, then pauses it fleet-wide with the reason. */
  function pauseCampaign(campaignId: string, reason: string): Promise<void> {
    deps.states.set(campaignId, 'paused');
    return deps.pause(campaignId, reason).catch((err: unknown) => deps.logger.error({ err }, 'could not pause campaign'));
  }

  /**
   * Pauses the campaign once the provider failed too many answers in a row (outage-watch.ts), else returns nothing
   * (synchronous: most answers only reset the count, and the send loop should not wait on it).
   */
  function watchForOutage(campaign: CampaignSettings, outcome: SendOutcome): Promise<void> | undefined {
    const reason = outages.observe(campaign.id, outcome);
    if (reason === undefined || deps.states.status(campaign.id) !== 'running') return undefined;
    return pauseCampaign(campaign.id, reason);
  }

  /** One message's row for a decision about it alone (group decisions — pause, unpack — leave it unsent). */
  function messageOutcome(d: Decision): Omit<OutcomeRow, 'id' | 'attempts' | 'claimedAt'> {
    switch (d.action) {
      case 'sent':
        return { status: 'sent', sessionId: d.sessionId, outcomeClass: 'accepted', providerText: null };
      case 'failed':
      case 'unknown':
        return { status: d.action, outcomeClass: d.outcomeClass, providerText: d.providerText, failureReason: d.reason };
      case 'retry':
        return {
          status: 'pending',
          outcomeClass: d.outcomeClass,
          providerText: d.providerText,
          failureReason: d.throttled ? 'throttled by the provider' : `will retry: ${d.providerText}`,
          delayMs: d.delayMs,
          attemptsDelta: d.countAttempt ? 0 : -1,
        };
      case 'pause-campaign':
      case 'unpack':
        return { status: 'release', attemptsDelta: -1 };
    }
  }

  /** Claimed but not to be sent: paused/cancelled meanwhile, or held past the send deadline (the lease's margin). */
  const mustHandBack = (campaign: CampaignSettings, group: Group): boolean =>
    deps.states.status(campaign.id) !== 'running' || performance.now() - group.claimedAt > opts.sendDeadlineMs;

  async function sendGroup(campaign: CampaignSettings, group: Group, slotAt: number, slotEarliest: number): Promise<void> {
    await waitForSlot(slotAt, slotEarliest);
    if (mustHandBack(campaign, group)) {
      await handBackUnsent(group);
      return;
    }
    let admission: Admission;
    try {
      admission = await deps.pacer.admit();
    } catch (err) {
      // Redis unreachable (restart, failover): certainly not sent. Handed back now rather than left `sending` for
      // the recovery lease to call `unknown` — we know it did not leave.
      await handBackUnsent(group);
      throw err;
    }
    // Judged again: the admission may have waited (a full window, the paused window after a lost log, a slow Redis),
    // and a pause, a cancel or the deadline passing meanwhile let the request go. Its admitted slot goes unused.
    if (mustHandBack(campaign, group)) {
      await handBackUnsent(group);
      return;
    }
    if (admission.waitedMs >= 1) stats.admitWaits++;
    stats.requests++;
    let outcome: SendOutcome;
    try {
      // Lateness is judged when the request is really written to a connection, which can be much later than
      // the hand-over (a new connection's set-up, every connection busy), and right after the hand-over only if
      // no write was reported yet (providers that do not report writes: test doubles). Each late judgement moves
      // the admission's stamp to that moment, so the last one — the real write — wins; a write reported during
      // the hand-over is not judged twice (that was a second Redis call for every late request).
      let late = false;
      let written = false;
      const judge = (): void => {
        if (deps.pacer.dispatched(admission) && !late) {
          late = true;
          stats.lateAdmissions++;
        }
      };
      const onWrite = (): void => {
        written = true;
        judge();
      };
      const sending = deps.provider.send(buildRequest(campaign, group.messages), undefined, onWrite);
      if (!written) judge();
      outcome = await sending;
    } catch (err) {
      // The port promises outcomes, not throws; a throw after the request may have left is ambiguous.
      outcome = { kind: 'ambiguous', detail: `provider client error: ${err instanceof Error ? err.message : String(err)}` };
    }
    // Decided per message: a pack can hold a message on its last attempt beside fresh ones (the feeder takes due
    // retries and new messages in id order, packing looks at the text only). Judged by the first one's count, a
    // retryable answer failed the whole pack after one attempt, or kept another message going past the limit.
    const decisions = group.messages.map((m) =>
      decide({ outcome, attempts: m.attempts, maxAttempts: opts.maxAttempts, recipients: group.messages.length, random: random() }),
    );
    const decision = decisions[0]!;
    switch (decision.action) {
      case 'sent':
      case 'failed':
      case 'unknown':
      case 'retry': {
        if (decisions.some((d) => d.action === 'retry' && d.throttled)) await deps.pacer.penalise(opts.throttlePenaltyMs).catch(() => undefined);
        await record(group.messages.map((m, i) => ({ id: m.id, attempts: m.attempts, claimedAt: m.claimedAt, ...messageOutcome(decisions[i]!) })));
        const pausing = watchForOutage(campaign, outcome);
        if (pausing) await pausing;
        return;
      }
      case 'pause-campaign':
        await pauseCampaign(campaign.id, decision.providerText);
        await release(group, { outcomeClass: decision.outcomeClass, providerText: decision.providerText, failureReason: `campaign paused: ${decision.providerText}` });
        return;
      case 'unpack': {
        // Some number in the pack was refused, none was sent: send each recipient on its own.
        const slots = await deps.pacer.reserve(group.messages.length).catch(async (err: unknown) => {
          await handBackUnsent(group);
          throw err;
        });
        // Settled, not Promise.all: the first failure (Redis at one admission) must not end the job while its
        // siblings' requests are still in flight — a shutdown would then close the pool under their outcomes.
        const singles = await Promise.allSettled(
          group.messages.map((m, i) =>
            sendGroup(campaign, { messages: [m], claimedAt: group.claimedAt }, slots.firstAt + i * slots.intervalMs, slots.earliestAt + i * slots.intervalMs),
          ),
        );
        const failed = singles.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        return;
      }
    }
  }

  /**
   * Messages of a batch that were never claimed go back to the feeder now instead of waiting for a stale sweep:
   * `leftover` (shutting down, paused or failing) and `unclaimed` rows the claim refused because the campaign is
   * not running (the feeder raced a pause), so a resume finds them pending. Rows no longer queued are untouched.
   */
  async function handBack(leftover: readonly string[], unclaimed: readonly string[]): Promise<void> {
    if (leftover.length) {
      await deps.pg.query(`UPDATE messages SET status = 'pending', queued_at = NULL WHERE id = ANY($1::bigint[]) AND status = 'queued'`, [leftover]);
    }
    if (unclaimed.length) {
      await deps.pg.query(
        `UPDATE messages m SET status = 'pending', queued_at = NULL
           FROM campaigns c
          WHERE m.id = ANY($1::bigint[]) AND m.status = 'queued' AND c.id = m.campaign_id AND c.status <> 'running'`,
        [unclaimed],
      );
    }
  }

  const processBatch = async (data: SendJobData): Promise<void> => {
    const campaign = await deps.states.get(data.campaignId);
    if (!campaign) return;
    const inFlight: Promise<void>[] = [];
    // The first failure of this batch (Redis or PostgreSQL unreachable): no further chunk is claimed, what was
    // claimed and not sent is handed back, and the job fails once the requests in flight are recorded. Every
    // group's promise is observed at once: one rejecting while the loop sleeps was an unhandled rejection, and
    // Node ends the process on those (a 1.5 s Redis restart killed the worker).
    const failures: unknown[] = [];
    const track = (sending: Promise<void>): void => {
      inFlight.push(sending.catch((error: unknown) => void failures.push(error)));
    };
    const leftover: string[] = [];
    const unclaimed: string[] = [];
    // A chunk is about chunkSize requests: with packing, that is chunkSize packs' worth of messages.
    const chunkSize = opts.chunkSize * campaign.packSize;
    try {
      for (let i = 0; i < data.ids.length; i += chunkSize) {
        const chunk = data.ids.slice(i, i + chunkSize);
        if (failures.length || deps.closing() || deps.states.status(campaign.id) !== 'running') {
          leftover.push(...data.ids.slice(i));
          break;
        }
        // The claim's age counts from before its statement: the recovery lease counts from the statement's start
        // (sending_at), and a claim that took long (row locks, an overloaded server) is that much older.
        const claimedAt = performance.now();
        const claimed = await claimMessages(deps.pg, chunk);
        if (claimed.length < chunk.length) {
          const got = new Set(claimed.map((m) => m.id));
          unclaimed.push(...chunk.filter((id) => !got.has(id)));
        }
        const groups = packMessages(claimed.filter((m) => m.status === 'sending'), campaign.packSize);
        if (!groups.length) continue;
        let slots: Reservation;
        try {
          slots = await deps.pacer.reserve(groups.length);
        } catch (error) {
          failures.push(error);
          await Promise.all(groups.map((messages) => handBackUnsent({ messages, claimedAt })));
          leftover.push(...data.ids.slice(i + chunkSize));
          break;
        }
        for (let g = 0; g < groups.length; g++) {
          const offset = g * slots.intervalMs;
          track(sendGroup(campaign, { messages: groups[g]!, claimedAt }, slots.firstAt + offset, slots.earliestAt + offset));
        }
        // Claim the next chunk shortly before this one's last slot (see reserveLeadMs), not earlier: claimed but
        // unsent stays within two chunks per job.
        await sleepUntil(slots.firstAt + (groups.length - 1) * slots.intervalMs - reserveLeadMs);
      }
      await handBack(leftover, unclaimed);
    } catch (error) {
      failures.push(error);
    }
    await Promise.all(inFlight);
    if (failures.length) throw failures[0];
  };
  return { processBatch, stats };
}
