/**
 * `bulksms campaign start|pause|resume|cancel|status|retry <id>`, on the `campaign` group of campaign-group.ts
 * (shared with `campaign create` and `campaign list`: whichever registers first creates it, the others add to it).
 */
import type { Command } from 'commander';
import type { Container } from '../../container';
import { maskDigitRuns } from '../../access/policy';
import { ValidationError } from '../../errors';
import {
  cancelCampaign,
  getCampaignStatus,
  pauseCampaign,
  resumeCampaign,
  retryCampaign,
  UUID,
  type CampaignStatusView,
  type RetryResult,
} from '../../sending/campaign-control';
import { startCampaignManually } from '../../sending/manual-start';
import { onTerminationSignals } from '../../lib/shutdown';
import { WINDOW_PAUSE_PREFIX } from '../../campaign/send-window';
import { auditCliAction } from '../audit-cli';
import { withContainer } from '../context';
import { printable } from '../listing';
import { colour, printResult, type OutputOptions } from '../output';
import { campaignGroup } from './campaign-group';

const FINAL = new Set(['completed', 'cancelled', 'failed']);
/**
 * Where `status --watch` stops: the campaign ended, or it is paused — by the provider's answer (key, balance,
 * sender), an outage, the DLT guard, the TRAI window or an operator — and only a resume moves it again. Watching on
 * hung a script's `campaign start <id> && campaign status <id> --watch` for good at the moment it needed to know.
 */
const WATCH_ENDS = new Set([...FINAL, 'paused']);

/**
 * The pause reason and alert as the CLI prints them: a number in them (a provider's text quoting a recipient, an
 * operator's reason) masked, as `campaign list` and the API show them to anyone without an OTP grant.
 */
function shownTexts(s: CampaignStatusView): { pauseReason: string | null; alert: string | null } {
  return { pauseReason: s.pauseReason === null ? null : maskDigitRuns(s.pauseReason), alert: s.alert === null ? null : maskDigitRuns(s.alert) };
}

/**
 * ` (list deleted)` when the campaign's contact list was deleted after it finished (or is being deleted): its history
 * stays, but a new run or firing has no contacts to send to. Empty for a list that is there.
 */
export function listGoneNote(listStatus: string): string {
  return listStatus === 'deleted' ? ' (list deleted)' : listStatus === 'deleting' ? ' (list being deleted)' : '';
}

/** `stream` is where the text goes (colour only on a terminal). */
export function humanStatus(view: CampaignStatusView, stream: NodeJS.WriteStream = process.stdout): string {
  const shown = shownTexts(view);
  // Printed as every other stored text is (printable()): a pause reason is any text an operator's API call or a
  // provider's answer gave, and a newline or an ANSI escape in it broke the status line or drove the terminal.
  const s = {
    ...view,
    pauseReason: shown.pauseReason === null ? null : printable(shown.pauseReason),
    alert: shown.alert === null ? null : printable(shown.alert),
  };
  const c = s.counts;
  const done = c.sent + c.delivered + c.failed + c.unknown + c.suppressed + c.cancelled;
  return [
    // A cancel keeps why the campaign had been paused before it: shown as that, not as the cancelled campaign's reason.
    `campaign "${printable(s.name)}" ${s.campaignId}: ${s.status}${s.pauseReason ? ` (${s.status === 'paused' ? '' : 'last paused: '}${s.pauseReason})` : ''}${listGoneNote(s.listStatus)}`,
    // Right under the status line, in red on a terminal: it needs the operator (DLT rejection, a run that did not start).
    ...(s.alert ? [colour(31, `  ALERT: ${s.alert}`, stream)] : []),
    `  ${done}/${s.total} done — sent ${c.sent}, delivered ${c.delivered}, failed ${c.failed}, unknown ${c.unknown}, suppressed ${c.suppressed}, cancelled ${c.cancelled}`,
    `  waiting: pending ${c.pending}, queued ${c.queued}, sending ${c.sending}`,
  ].join('\n');
}

export function contractStatus(s: CampaignStatusView): object {
  return { campaignId: s.campaignId, name: s.name, status: s.status, ...shownTexts(s), listStatus: s.listStatus, regulated: s.regulated, total: s.total, counts: s.counts, runs: s.runs };
}

/**
 * The human answer's ` (reason)` of a campaign left paused: a bare "paused" left the operator to guess that a
 * promotional start, resume or retry outside 09:00–21:00 IST waits for 09:00, or that a retry into a campaign an
 * operator (or the provider, or the DLT guard) paused sends nothing until it is resumed.
 */
async function pausedNote(c: Container, id: string): Promise<{ paused: boolean; note: string }> {
  const { rows } = await c.pg.query<{ status: string; pause_reason: string | null }>(
    `SELECT status::text AS status, pause_reason FROM campaigns WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  if (row?.status !== 'paused') return { paused: false, note: '' };
  const waitsForWindow = row.pause_reason?.startsWith(WINDOW_PAUSE_PREFIX) ?? false;
  const how = waitsForWindow ? '' : `; \`bulksms campaign resume ${id}\` continues it`;
  // printable(): a reason given through the API is any text (see humanStatus).
  return { paused: true, note: ` (${row.pause_reason === null ? 'no reason recorded' : printable(row.pause_reason)}${how})` };
}

/**
 * What a retry left as it was, and why: "0 message(s) re-queued" beside "failed 25" in `campaign status` read as if
 * the retry had not worked, when those 25 were refused for their recipient, failed by a delivery report (sent and
 * paid for) or never rendered (a missing variable), which a retry never sends again; unknown ones wait for
 * --include-unknown.
 */
function notRetriedNote({ failed, unknown }: RetryResult['notRetried']): string {
  return (
    (failed ? `; ${failed} failed message(s) not retried: a retry sends again only what certainly did not go out, not a message refused for its recipient, failed by its delivery report or missing a variable` : '') +
    (unknown ? `; ${unknown} unknown (maybe sent) not retried: --include-unknown re-sends them, possibly twice` : '')
  );
}

/**
 * A campaign is named by its id here: an operator who typed the campaign's name (`campaign start diwali`) was told
 * only that "diwali" is not a UUID, not where the id is found.
 */
function requireCampaignId(id: string): string {
  if (!UUID.test(id)) {
    throw new ValidationError(`campaign id "${id}" is not a UUID: give the campaign's id, not its name (\`bulksms campaign list\` shows them)`, 'campaignId');
  }
  return id;
}

export function registerCampaignControl(program: Command): void {
  const campaign = campaignGroup(program);
  const simple = (name: string, description: string, run: (c: Container, id: string) => Promise<{ campaignId: string; status: string }>) =>
    campaign
      .command(`${name} <id>`)
      .description(description)
      .option('--json', 'print one JSON object')
      .action(
        withContainer(async (c, id: string, opts: OutputOptions) => {
          const result = await run(c, requireCampaignId(id));
          await auditCliAction(c, `campaign.${name}`, id, { status: result.status });
          const { note } = opts.json || result.status !== 'paused' ? { note: '' } : await pausedNote(c, id);
          printResult(opts, result, () => `campaign ${result.campaignId}: ${result.status}${note}`);
        }),
      );

  campaign
    .command('start <id>')
    .description('start sending now (materialises a run: one message per contact) after checking the provider balance')
    .option('--force', 'start without checking the provider balance (even if it looks too low or cannot be read)')
    .option('--json', 'print one JSON object')
    .action(
      withContainer(async (c, id: string, opts: OutputOptions & { force?: boolean }) => {
        const r = await startCampaignManually(c, requireCampaignId(id), { force: opts.force === true });
        const result = { campaignId: r.campaignId, runId: r.runId, status: r.status };
        await auditCliAction(c, 'campaign.start', id, { status: result.status, ...(opts.force ? { force: true } : {}) });
        const { note } = opts.json || result.status !== 'paused' ? { note: '' } : await pausedNote(c, id);
        printResult(opts, result, () => `campaign ${result.campaignId}: ${result.status}${note}`);
      }),
    );
  simple('pause', 'stop sending fleet-wide within 1 s; requests in flight finish and are recorded', (c, id) => pauseCampaign(c, id, 'paused by operator'));
  simple('resume', 'continue exactly where the campaign stopped', (c, id) => resumeCampaign(c, id));
  simple('cancel', 'cancel everything not yet sent', (c, id) => cancelCampaign(c, id));

  campaign
    .command('status <id>')
    // `list show <name>` shows a list: `campaign show <id>` was an unknown command.
    .alias('show')
    .description('progress and per-status counts')
    .option('--watch', 're-print every second until the campaign ends or is paused (its reason is printed)')
    .option('--json', 'print one JSON object (with --watch: the final state)')
    .action(
      withContainer(async (c, id: string, opts: OutputOptions & { watch?: boolean }) => {
        let status = await getCampaignStatus(c, requireCampaignId(id));
        // Ctrl-C or SIGTERM (`timeout 600 bulksms campaign status <id> --watch --json`) ends the watch with the last
        // state read as its result: killed outright, a script's stdout had no object at all. The exit code stays the
        // signal's (130, 143), so `status --watch && next` does not go on. A second signal quits at once.
        let interrupted: NodeJS.Signals | null = null;
        let wake = (): void => undefined;
        const stopListening = opts.watch
          ? onTerminationSignals((signal) => {
              if (interrupted) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
              interrupted = signal;
              wake();
            })
          : () => undefined;
        try {
          while (opts.watch && !interrupted && !WATCH_ENDS.has(status.status)) {
            // Progress goes to stderr under --json so stdout carries exactly one object.
            const out = opts.json ? process.stderr : process.stdout;
            out.write(`${humanStatus(status, out)}\n`);
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, 1000);
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            if (!interrupted) status = await getCampaignStatus(c, id);
          }
        } finally {
          stopListening();
        }
        printResult(opts, contractStatus(status), () => humanStatus(status));
        if (interrupted) return 128 + (interrupted === 'SIGINT' ? 2 : 15);
      }),
    );

  campaign
    .command('retry <id>')
    .description('re-queue failed messages that were certainly not sent (and unknown ones with --include-unknown)')
    .option('--include-unknown', 'also re-send messages whose outcome is unknown (may duplicate)')
    .option('--json', 'print one JSON object')
    .action(
      withContainer(async (c, id: string, opts: OutputOptions & { includeUnknown?: boolean }) => {
        const result = await retryCampaign(c, requireCampaignId(id), { includeUnknown: opts.includeUnknown === true });
        await auditCliAction(c, 'campaign.retry', id, { requeued: result.requeued, includeUnknown: opts.includeUnknown === true });
        const waiting = opts.json || !result.requeued ? { paused: false, note: '' } : await pausedNote(c, id);
        const left = notRetriedNote(result.notRetried);
        printResult(opts, result, () =>
          `campaign ${result.campaignId}: ${result.requeued} message(s) re-queued` +
          (waiting.paused ? `; they wait: the campaign is paused${waiting.note}` : '') +
          (result.archiving ? `; ${result.archiving} run(s) being archived right now were left out (retry again once the archive is done)` : '') +
          left,
        );
      }),
    );
}

export function parseConcurrency(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new ValidationError(`--concurrency must be an integer between 1 and 10000 (got "${raw}")`, 'concurrency');
  return n;
}
