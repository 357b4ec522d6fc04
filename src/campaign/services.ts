/**
 * The background services of `bulksms worker`, in one call: the schedule worker (--at/--cron), the TRAI window
 * watcher, the delivery-report poller and the finisher of list deletions cut short (src/import/finish-deletes.ts).
 * The sending engine's functions are injected, so this module does not import src/sending (startWorker plugs them
 * in).
 */
import type { Container } from '../container';
import type { Slot } from '../delivery/paced-slot';
import { createDlrPoller, type DlrPollerOptions } from '../delivery/poller';
import type { SmsProvider } from '../provider/sms-provider';
import { startScheduler, type CampaignScheduler, type StartRun } from './scheduler';
import { createWindowWatcher } from './window-watcher';
import { createListDeleteFinisher, type ListDeleteFinisherOptions } from '../import/finish-deletes';

export interface CampaignServicesOptions {
  /** startCampaign(deps, id, { trigger }) of the sending engine. */
  startRun: StartRun;
  /** Pre-start checks (checkCredits), run ahead of `--at` instants; throwing stops the run and alerts. */
  prepareRun?: StartRun;
  pauseCampaign: (campaignId: string, reason: string) => Promise<unknown>;
  resumeCampaign: (campaignId: string) => Promise<unknown>;
  provider: Pick<SmsProvider, 'deliveryReport'>;
  /** One slot of the account-wide request budget (the sending engine's pacer). */
  acquireSlot: () => Promise<Slot | void>;
  /** Turn single services off (tests, or a worker dedicated to sending). All on by default. */
  scheduler?: boolean;
  window?: boolean;
  deliveryReports?: boolean;
  /** Finish the deletes of lists left `deleting` (off for `bulksms send`, a one-shot run). */
  listDeletes?: boolean | ListDeleteFinisherOptions;
  dlr?: Partial<Omit<DlrPollerOptions, 'provider' | 'acquireSlot'>>;
  now?: () => Date;
  /** Aborted while the scheduler was starting (a shutdown asked for): the watcher and poller are not started. */
  stopSignal?: AbortSignal;
}

export interface CampaignServices {
  scheduler: CampaignScheduler | null;
  close(): Promise<void>;
}

export async function startCampaignServices(container: Container, opts: CampaignServicesOptions): Promise<CampaignServices> {
  const scheduler = opts.scheduler === false ? null : await startScheduler(container, { startRun: opts.startRun, prepareRun: opts.prepareRun, now: opts.now });
  const stopping = opts.stopSignal?.aborted ?? false;
  const watcher =
    opts.window === false || stopping
      ? null
      : createWindowWatcher(container, { pause: opts.pauseCampaign, resume: opts.resumeCampaign, now: opts.now });
  watcher?.start();
  const poller =
    opts.deliveryReports === false || stopping
      ? null
      : createDlrPoller(container, { ...opts.dlr, provider: opts.provider, acquireSlot: opts.acquireSlot, now: opts.now });
  poller?.start();
  const listDeletes =
    opts.listDeletes === false || stopping
      ? null
      : createListDeleteFinisher(container, opts.listDeletes === true || opts.listDeletes === undefined ? {} : opts.listDeletes);
  listDeletes?.start();
  container.logger.info(
    { scheduler: Boolean(scheduler), window: Boolean(watcher), deliveryReports: Boolean(poller), listDeletes: Boolean(listDeletes) },
    'campaign services started',
  );
  return {
    scheduler,
    async close() {
      watcher?.stop();
      await listDeletes?.stop();
      await poller?.stop();
      await scheduler?.close();
    },
  };
}
