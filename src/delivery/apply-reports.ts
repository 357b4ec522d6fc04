/**
 * Applies delivery results to messages (shared by the pull poller and the push webhook). Only `sent` (or
 * `unknown`) messages move, to `delivered` or `failed`, so a report that arrives twice changes nothing the second
 * time. DLT-CNT-REJECT also raises a loud alert on the campaign: it is a template/sender problem that usually
 * hits every message, and someone has to fix the DLT registration; when most reports are rejections the campaign
 * is paused (dlt-guard.ts).
 *
 * Counters: campaign_runs counters are not touched here (every status read recounts them from the messages,
 * refreshRunCounters); the metric bulksms_delivery_reports_total counts the messages these UPDATEs changed.
 */
import type { Container } from '../container';
import { samePhone, type DeliveryState } from '../provider/twofactor/delivery-status';
import { createDltGuard } from './dlt-guard';
import { deliveryReports } from '../metrics';

export interface SessionMessage {
  id: string;
  phone: string;
  campaignId: string;
  /** The only message of its session (not a packed send): a report for the session is this recipient's. */
  alone: boolean;
}

/** SQL (alias `m`): the message is its session's only one. */
export const ALONE_IN_SESSION = `NOT EXISTS (SELECT 1 FROM messages x WHERE x.session_id = m.session_id AND x.id <> m.id)`;

export interface ResultEntry {
  phone: string;
  state: DeliveryState;
  reason: string | null;
  dltReject: boolean;
}

export interface ApplySummary {
  delivered: number;
  failed: number;
  pending: number;
  /** Entries that matched no open message (already final, or unknown phone). */
  unmatched: number;
  dltFlagged: string[];
  /** Campaigns this paused because operators reject most of their messages for DLT (dlt-guard.ts). */
  dltPaused: string[];
}

/** Pausing a campaign announces it to the workers (Redis control channel). */
type Deps = Pick<Container, 'pg' | 'logger' | 'redis' | 'config'>;

const judgeDltRejects = createDltGuard();

const OPEN = `('sent', 'unknown')`;

export const DLT_ALERT =
  'DLT-CNT-REJECT: operators rejected messages of this campaign (template text, sender header or PE/template id ' +
  'not matching the DLT registration); fix the DLT template/header mapping before sending more';

/**
 * SQL condition on `campaigns`: its alert is not a DLT-CNT-REJECT one. Other alerts (a scheduled run that did not
 * start or was skipped) never replace it: it is the louder problem, and the DLT guard reads it to pause only once.
 */
export const ALERT_IS_NOT_DLT = `(alert IS NULL OR alert NOT LIKE 'DLT-CNT-REJECT%')`;

export async function loadOpenMessages(deps: Pick<Container, 'pg'>, sessionId: string): Promise<SessionMessage[]> {
  const { rows } = await deps.pg.query<SessionMessage>(
    `SELECT m.id::text AS id, m.phone, m.campaign_id AS "campaignId", ${ALONE_IN_SESSION} AS alone
       FROM messages m WHERE m.session_id = $1 AND m.status IN ${OPEN}`,
    [sessionId],
  );
  return rows;
}

function match(messages: SessionMessage[], entries: ResultEntry[]): Array<[SessionMessage, ResultEntry]> {
  // One recipient per session (the usual case): match even if the report writes the number differently. Only
  // when the session holds no other message at all: one open member of a pack is not a pack of one (a repeated
  // report for another member, already final, was applied to it).
  if (messages.length === 1 && entries.length === 1 && messages[0]!.alone) return [[messages[0]!, entries[0]!]];
  const pairs: Array<[SessionMessage, ResultEntry]> = [];
  const used = new Set<string>();
  for (const e of entries) {
    const m = messages.find((x) => !used.has(x.id) && samePhone(x.phone, e.phone));
    if (m) {
      used.add(m.id);
      pairs.push([m, e]);
    }
  }
  return pairs;
}

export async function applyResults(deps: Deps, messages: SessionMessage[], entries: ResultEntry[], now: Date): Promise<ApplySummary> {
  const pairs = match(messages, entries);
  return { ...(await applyPairs(deps, pairs, now)), unmatched: entries.length - pairs.length };
}

/** Applies already matched (message, result) pairs, possibly of many sessions, in at most two UPDATEs. */
export async function applyPairs(deps: Deps, pairs: ReadonlyArray<readonly [SessionMessage, ResultEntry]>, now: Date): Promise<ApplySummary> {
  const summary: ApplySummary = { delivered: 0, failed: 0, pending: 0, unmatched: 0, dltFlagged: [], dltPaused: [] };
  const delivered = pairs.filter(([, e]) => e.state === 'delivered').map(([m]) => m.id);
  const failed = pairs.filter(([, e]) => e.state === 'failed');
  summary.pending = pairs.filter(([, e]) => e.state === 'pending').length;

  if (delivered.length) {
    const r = await deps.pg.query(
      `UPDATE messages SET status = 'delivered', delivered_at = $2, updated_at = $2
        WHERE id = ANY($1::bigint[]) AND status IN ${OPEN}`,
      [delivered, now],
    );
    summary.delivered = r.rowCount ?? 0;
    deliveryReports.inc({ status: 'delivered' }, summary.delivered);
  }
  if (failed.length) {
    const r = await deps.pg.query(
      `UPDATE messages m SET status = 'failed', failure_reason = v.reason, failed_at = $3, updated_at = $3
         FROM unnest($1::bigint[], $2::text[]) AS v(id, reason)
        WHERE m.id = v.id AND m.status IN ${OPEN}`,
      [failed.map(([m]) => m.id), failed.map(([, e]) => e.reason ?? 'FAILED'), now],
    );
    summary.failed = r.rowCount ?? 0;
    deliveryReports.inc({ status: 'failed' }, summary.failed);
  }
  const dltCampaigns = [...new Set(failed.filter(([, e]) => e.dltReject).map(([m]) => m.campaignId))];
  if (dltCampaigns.length) {
    summary.dltFlagged = await flagDltReject(deps, dltCampaigns);
    // The reports are applied whatever happens here: a failed judgement is logged and tried at the next rejection.
    summary.dltPaused = await judgeDltRejects(deps, dltCampaigns).catch((err: unknown) => {
      deps.logger.error({ err }, 'could not judge DLT rejections');
      return [];
    });
  }
  return summary;
}

/** Sets the campaign alert once; logs at error level when a campaign is newly flagged. */
async function flagDltReject(deps: Deps, campaignIds: string[]): Promise<string[]> {
  const { rows } = await deps.pg.query<{ id: string; name: string }>(
    `UPDATE campaigns SET alert = $2, updated_at = now()
      WHERE id = ANY($1::uuid[]) AND ${ALERT_IS_NOT_DLT}
      RETURNING id, name`,
    [campaignIds, DLT_ALERT],
  );
  for (const c of rows) {
    deps.logger.error({ campaignId: c.id, campaign: c.name }, 'DLT-CNT-REJECT on campaign: template/sender rejected by the operator');
  }
  return rows.map((r) => r.id);
}
