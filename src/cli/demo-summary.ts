/** The demo's closing summary: counts by status, achieved rate, failures by reason, provider-side checks. */
import type { Container } from '../container';
import type { SimulatorStats } from '../simulator/server';
import type { DemoWebhookStats } from './demo-webhook';
import { printable } from './listing';
import type { SendOutcome } from './run-send';

export interface DemoSummary {
  campaignId: string;
  status: string;
  pauseReason: string | null;
  counts: Record<string, number>;
  imported: SendOutcome['imported'];
  requests: number;
  achievedRate: number;
  limit: number;
  elapsedSeconds: number;
  failures: { status: string; reason: string; count: number }[];
  /**
   * At the simulator: `maxWindow` by its own stamps (its stalls on a busy machine bunch them); `writtenMaxWindow` by
   * when this process wrote the requests (provider/written-requests.ts), null when not watched.
   */
  provider: { maxWindow: number; writtenMaxWindow: number | null; throttled: number; duplicates: number };
  /** Delivery reports: final states from reports, how they came in, and what is still awaited. */
  reports: { delivered: number; failed: number; awaiting: number; waitedSeconds: number; callbacks: number; early: number };
}

export async function queryDemoSummary(
  container: Container,
  result: SendOutcome,
  stats: SimulatorStats,
  webhook: DemoWebhookStats = { received: 0, early: 0 },
  writtenMaxWindow: number | null = null,
): Promise<DemoSummary> {
  const id = result.campaign.campaignId;
  const timing = await container.pg.query<{ n: string; first: Date | null; last: Date | null }>(
    `SELECT count(*) AS n, min(sent_at) AS first, max(sent_at) AS last FROM messages WHERE campaign_id = $1 AND sent_at IS NOT NULL`,
    [id],
  );
  const t = timing.rows[0]!;
  const span = t.first && t.last ? (t.last.getTime() - t.first.getTime()) / 1000 : 0;
  const failures = await container.pg.query<{ status: string; reason: string; count: string }>(
    `SELECT status::text AS status, COALESCE(failure_reason, provider_text, outcome_class::text, 'unknown') AS reason, count(*) AS count
       FROM messages WHERE campaign_id = $1 AND status IN ('failed', 'unknown')
      GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 10`,
    [id],
  );
  // Failed by a delivery report (the provider had accepted it, so it has a session id) vs failed before sending.
  const reported = await container.pg.query<{ failed: string }>(
    `SELECT count(*) AS failed FROM messages WHERE campaign_id = $1 AND status = 'failed' AND session_id IS NOT NULL`,
    [id],
  );
  return {
    campaignId: id,
    status: result.status.status,
    pauseReason: result.status.pauseReason,
    counts: result.status.counts,
    imported: result.imported,
    requests: stats.requests,
    achievedRate: span > 0 ? (Number(t.n) - 1) / span : 0,
    limit: container.config.SMS_RATE_LIMIT,
    elapsedSeconds: result.elapsedMs / 1000,
    failures: failures.rows.map((r) => ({ status: r.status, reason: r.reason, count: Number(r.count) })),
    provider: { maxWindow: stats.maxWindow, writtenMaxWindow, throttled: stats.throttled, duplicates: stats.duplicates },
    reports: {
      delivered: result.status.counts.delivered,
      failed: Number(reported.rows[0]!.failed),
      awaiting: result.reports.awaiting,
      waitedSeconds: result.reports.waitedMs / 1000,
      callbacks: webhook.received,
      early: webhook.early,
    },
  };
}

export function printDemoSummary(s: DemoSummary, out: NodeJS.WritableStream = process.stdout): void {
  const rows: [string, string | number][] = [
    // Texts from the provider (a pause reason, a failure's text) are shown as every other printer shows stored text:
    // a newline, an ANSI escape or a right-to-left override in them would break the summary or drive the terminal.
    ['campaign', `${s.campaignId} (${s.status}${s.pauseReason ? `: ${printable(s.pauseReason)}` : ''})`],
    ['imported', `${s.imported.accepted} of ${s.imported.rows} rows (rejected ${s.imported.rejected}, duplicates ${s.imported.duplicates}, suppressed ${s.imported.suppressed})`],
    ['reject report', s.imported.rejectReport ?? '(none)'],
    ...Object.entries(s.counts).map(([k, v]): [string, number] => [`  ${k}`, v]),
    ['achieved rate', `${s.achievedRate.toFixed(1)} msg/s of ${s.limit} (${((100 * s.achievedRate) / s.limit).toFixed(1)} %)`],
    ['campaign time', `${s.elapsedSeconds.toFixed(1)} s`],
    [
      'delivery reports',
      `${s.reports.delivered} delivered, ${s.reports.failed} failed, ${s.reports.awaiting} still awaited ` +
        `(waited ${s.reports.waitedSeconds.toFixed(1)} s after sending; ${s.reports.callbacks} webhook callbacks, ` +
        `${s.reports.early} of them before their send outcome: kept, then applied)`,
    ],
    [
      'provider view',
      `max ${s.provider.maxWindow} requests in any 1 s${s.provider.writtenMaxWindow === null ? '' : ` (${s.provider.writtenMaxWindow} as this process wrote them)`}, ` +
        `${s.provider.throttled} throttled (429), ${s.provider.duplicates} duplicates`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = ['', 'Summary', ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)];
  if (s.failures.length) {
    lines.push('', 'Failures by reason');
    for (const f of s.failures) lines.push(`  ${String(f.count).padStart(6)}  ${f.status.padEnd(8)} ${printable(f.reason)}`);
  }
  out.write(`${lines.join('\n')}\n`);
}
