/**
 * The one-shot main job behind `bulksms send` and `bulksms demo`: import the CSV, create the campaign, start
 * it, run send workers in this process until the campaign ends (or pauses), wait a bounded time for delivery
 * reports (the poller runs in this process too), and return the final state.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { campaignContent, checkCampaignInput, createCampaign, type CreateCampaignInput, type CreateCampaignResult } from '../campaign/campaign-service';
import type { CampaignServicesOptions } from '../campaign/services';
import type { Container } from '../container';
import { assertMigrated } from '../db/migrate';
import { importContacts, type ImportResult } from '../import/import-contacts';
import type { SmsProvider } from '../provider/sms-provider';
import { ConflictError, ValidationError } from '../errors';
import { onTerminationSignals } from '../lib/shutdown';
import { getCampaignStatus, pauseCampaign, type CampaignStatusView } from '../sending/campaign-control';
import { startCampaignManually } from '../sending/manual-start';
import { startWorker } from '../sending/worker';
import { auditCliAction } from './audit-cli';
import { createProgressView } from './campaign-progress';
import { failImportOnSignal, progressBar, requireFile, sameFileAsRead } from './commands/import';

export interface SendInput extends Omit<CreateCampaignInput, 'list' | 'name' | 'at' | 'cron'> {
  file: string;
  list?: string;
  name?: string;
  country?: string;
  phoneColumn?: string;
  force?: boolean;
}

export interface SendOutcome {
  imported: ImportResult;
  campaign: CreateCampaignResult;
  status: CampaignStatusView;
  /** From start to the end of the campaign's sending (the wait for delivery reports is not included). */
  elapsedMs: number;
  /** The wait for delivery reports after sending: how long, and how many `sent` messages still await one. */
  reports: { waitedMs: number; awaiting: number };
}

export interface SendRunOptions {
  progress: boolean;
  provider?: SmsProvider;
  concurrency?: number;
  pollMs?: number;
  /**
   * Once sending has completed, keep polling delivery reports until no message is left `sent` or this long
   * (ms; 0 = do not wait). Default DEFAULT_WAIT_REPORTS_MS.
   */
  waitReportsMs?: number;
  /** Delivery-report poller tuning (defaults: first check 2 s after sending, then 4, 8, … s). */
  dlr?: NonNullable<CampaignServicesOptions['dlr']>;
  /** The clock of the start and of the TRAI window (tests); the real one by default. */
  now?: () => Date;
  /** Called once the campaign is created, before its start: `send` shows the create warnings there. */
  onCreated?: (campaign: CreateCampaignResult) => void;
}

export const DEFAULT_WAIT_REPORTS_MS = 10_000;

/**
 * The one-shot run polls reports sooner than a long-running worker (10 s): it has seconds, not hours, and a
 * report is often there within 2–6 s (reference §5: clients poll at 2 s intervals). Each poll still takes a slot
 * of the account-wide budget; 8 lanes keep that to a small share of it while sending.
 */
const SEND_DLR: NonNullable<CampaignServicesOptions['dlr']> = { baseDelayMs: 2000, idleMs: 250, concurrency: 8 };

const FINAL = new Set(['completed', 'cancelled', 'failed']);

/**
 * Ctrl-C (or SIGTERM) while sending pauses the campaign instead of abandoning it: the in-process workers stop
 * claiming, requests in flight finish and their outcomes are recorded, and the run ends with the campaign
 * `paused` (exit 1), resumable; after sending, it ends the wait for delivery reports. Killed outright instead,
 * the campaign would stay `running` with nobody sending (the next one-shot run's workers would pick it up), and
 * its requests in flight would stay `sending` until some worker's recovery marked them `unknown`. A second
 * signal exits at once: that is the crash the ledger is built for.
 */
function pauseOnSignal(container: Container, campaignId: string, isSending: () => boolean, onStopped: () => void): () => void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) process.exit(130);
    signalled = true;
    // Sending is over (the campaign ended): there is nothing to pause, and saying so sent the operator to resume it.
    if (!isSending()) {
      process.stderr.write(`\n${signal}: ending the wait for delivery reports; later ones are picked up by a bulksms worker (${signal} again quits at once)\n`);
      return onStopped();
    }
    process.stderr.write(`\n${signal}: pausing campaign ${campaignId}; requests in flight finish and are recorded (${signal} again quits at once)\n`);
    const reason = `interrupted (${signal}) during bulksms send; continue with: bulksms campaign resume ${campaignId}, and a running bulksms worker`;
    const paused = async (): Promise<void> => {
      // Audited like `campaign pause`; an entry that cannot be written does not undo the orderly stop.
      await auditCliAction(container, 'campaign.pause', campaignId, { reason: `interrupted (${signal})`, command: 'send' }).catch(() =>
        process.stderr.write(`campaign ${campaignId} paused, but its audit entry could not be written\n`),
      );
      onStopped();
    };
    pauseCampaign(container, campaignId, reason).then(paused, (err: unknown) => {
      // Not running any more (completed, or paused by the provider's answer): only the wait for reports is left.
      if (err instanceof ConflictError) return onStopped();
      process.stderr.write(`could not pause campaign ${campaignId}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(130);
    });
  };
  return onTerminationSignals(onSignal);
}

export async function runSend(
  container: Container,
  input: SendInput,
  opts: SendRunOptions,
): Promise<SendOutcome> {
  const version = requireFile(input.file);
  // Its workers send with the key: missing, they failed to start only after the import, the campaign and (with
  // --force, which skips the balance check that would have asked for it) a start that left the campaign running.
  if (!opts.provider && !container.config.TWOFACTOR_API_KEY) {
    throw new ValidationError('TWOFACTOR_API_KEY is not set: bulksms send sends with it (nothing was imported)', 'TWOFACTOR_API_KEY');
  }
  // Its in-process workers send as `bulksms worker` does, which refuses a database behind the code: checked before
  // the import, so nothing is stored (the run used to import, start, and fail mid-campaign on what was missing).
  await assertMigrated(container.pg);
  const base = path.basename(input.file).replace(/\.[^.]+$/, '');
  const listName = input.list ?? `${base}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  // Bad usage stores nothing: the campaign's fields and schedule are checked before the import, its placeholders
  // against the file's columns before the import commits (a typo used to leave an imported list behind).
  const campaignInput = { ...input, name: input.name ?? listName, list: listName };
  const checked = checkCampaignInput(container, campaignInput);
  const bar = progressBar(version.size, opts.progress);
  let imported: ImportResult;
  const source = createReadStream(input.file);
  const importSignals = failImportOnSignal(source);
  try {
    imported = await importContacts(container, source, {
      listName,
      fileName: input.file,
      country: input.country,
      phoneColumn: input.phoneColumn,
      onProgress: (p) => bar.update(p),
      beforeCommit: async ({ columns, bytesRead }) => {
        importSignals.check();
        campaignContent(listName, columns, checked.fields);
        sameFileAsRead(input.file, version, bytesRead);
      },
    });
  } finally {
    importSignals.stop();
    bar.stop();
  }
  // Audited like `bulksms import` (list.import), before anything that may still fail: the list stays either way.
  await auditCliAction(container, 'list.import', imported.listId, { list: listName, file: input.file, accepted: imported.accepted, command: 'send' });
  const campaign = await createCampaign(container, { ...campaignInput, list: imported.listId });
  opts.onCreated?.(campaign);
  // Audited like `campaign create` and `campaign start`: a campaign sent in one shot is no less a campaign action.
  await auditCliAction(container, 'campaign.create', campaign.campaignId, { name: campaignInput.name, type: campaignInput.type, command: 'send' });
  // Refused (balance too low or unreadable, unless --force): the list and the draft campaign stay for a later start.
  // Checked before any worker exists: a worker feeds every running campaign of the database, so one started first
  // sent other campaigns' messages while this run was being refused ("Nothing was sent" was not true).
  // A signal while the campaign is being started is held, then pauses it like any later one once it runs. Left to
  // the default handler, one arriving after the start committed (during its audit entry) ended the process with
  // the campaign running and nobody sending it.
  let held: NodeJS.Signals | null = null;
  const stopHolding = onTerminationSignals((signal) => (held ??= signal));
  let start: Awaited<ReturnType<typeof startCampaignManually>>;
  try {
    start = await startCampaignManually(container, campaign.campaignId, { force: input.force, balances: opts.provider, now: opts.now?.() });
    await auditCliAction(container, 'campaign.start', campaign.campaignId, { status: start.status, ...(input.force ? { force: true } : {}), command: 'send' });
  } finally {
    stopHolding();
  }
  // From here on there is a running campaign to pause; during the import a signal fails it (failImportOnSignal), before
  // the start it ends the process as usual (nothing sent).
  let interrupted = false;
  let sending = true;
  const stopListening = pauseOnSignal(container, campaign.campaignId, () => sending, () => (interrupted = true));
  if (held) process.kill(process.pid, held);
  const view = createProgressView({ enabled: opts.progress });
  const started = Date.now();
  let outcome: SendOutcome;
  // Send workers, the delivery-report poller and the TRAI window (no scheduler, no finishing of other lists'
  // deletes: this run starts now and ends). A promotional run still sending at 21:00 IST is paused there like any
  // other, which ends this one-shot run (it used to send on into the night).
  const worker = await startWorker(container, {
    provider: opts.provider,
    concurrency: opts.concurrency,
    campaignServices: { scheduler: false, listDeletes: false, dlr: { ...SEND_DLR, ...opts.dlr }, now: opts.now },
  }).catch((err: unknown) => {
    stopListening();
    throw err;
  });
  try {
    let status = await getCampaignStatus(container, campaign.campaignId);
    // A paused campaign (provider said the account or campaign cannot send) ends the one-shot run too:
    // the operator fixes the cause and runs `bulksms campaign resume <id>`.
    while (!FINAL.has(status.status) && status.status !== 'paused') {
      view.update(status);
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
      status = await getCampaignStatus(container, campaign.campaignId);
    }
    sending = false;
    const elapsedMs = Date.now() - started;
    const waitStarted = Date.now();
    if (status.status === 'completed') {
      const deadline = waitStarted + (opts.waitReportsMs ?? DEFAULT_WAIT_REPORTS_MS);
      while (status.counts.sent > 0 && Date.now() < deadline && !interrupted) {
        view.update(status);
        await new Promise((r) => setTimeout(r, Math.min(opts.pollMs ?? 500, Math.max(0, deadline - Date.now()))));
        status = await getCampaignStatus(container, campaign.campaignId);
      }
    }
    view.update(status);
    outcome = { imported, campaign, status, elapsedMs, reports: { waitedMs: Date.now() - waitStarted, awaiting: status.counts.sent } };
  } finally {
    view.stop();
    await worker.close();
    stopListening();
  }
  // Paused (Ctrl-C, or the provider refusing the account or campaign) while sending: the counts read above still
  // showed the requests in flight as `sending`; closing the workers recorded them, so the final state is read again.
  if (interrupted || outcome.status.counts.sending > 0) {
    const status = await getCampaignStatus(container, campaign.campaignId);
    outcome = { ...outcome, status, reports: { ...outcome.reports, awaiting: status.counts.sent } };
  }
  return outcome;
}
