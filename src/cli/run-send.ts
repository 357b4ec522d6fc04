/**
 * The one-shot main job behind `bulksms send` and `bulksms demo`: import the CSV, create the campaign, start
 * it, run send workers in this process until the campaign ends (or pauses), and return the final state.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { createCampaign, type CreateCampaignInput, type CreateCampaignResult } from '../campaign/campaign-service';
import type { Container } from '../container';
import { importContacts, type ImportResult } from '../import/import-contacts';
import type { SmsProvider } from '../provider/sms-provider';
import { getCampaignStatus, type CampaignStatusView } from '../sending/campaign-control';
import { startCampaignManually } from '../sending/manual-start';
import { startWorker } from '../sending/worker';
import { createProgressView } from './campaign-progress';
import { progressBar, requireFile } from './commands/import';

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
  /** From start to the end of the campaign. */
  elapsedMs: number;
}

const FINAL = new Set(['completed', 'cancelled', 'failed']);

export async function runSend(
  container: Container,
  input: SendInput,
  opts: { progress: boolean; provider?: SmsProvider; concurrency?: number; pollMs?: number },
): Promise<SendOutcome> {
  const size = requireFile(input.file);
  const base = path.basename(input.file).replace(/\.[^.]+$/, '');
  const listName = input.list ?? `${base}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const bar = progressBar(size, opts.progress);
  let imported: ImportResult;
  try {
    imported = await importContacts(container, createReadStream(input.file), {
      listName,
      fileName: input.file,
      country: input.country,
      phoneColumn: input.phoneColumn,
      onProgress: (p) => bar.update(p),
    });
  } finally {
    bar.stop();
  }
  const campaign = await createCampaign(container, { ...input, name: input.name ?? listName, list: imported.listId });
  const worker = await startWorker(container, { provider: opts.provider, concurrency: opts.concurrency });
  const view = createProgressView({ enabled: opts.progress });
  const started = Date.now();
  try {
    // Refused (balance too low or unreadable, unless --force): the list and the draft campaign stay for a later start.
    await startCampaignManually(container, campaign.campaignId, { force: input.force, balances: opts.provider });
    let status = await getCampaignStatus(container, campaign.campaignId);
    // A paused campaign (provider said the account or campaign cannot send) ends the one-shot run too:
    // the operator fixes the cause and runs `bulksms campaign resume <id>`.
    while (!FINAL.has(status.status) && status.status !== 'paused') {
      view.update(status);
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
      status = await getCampaignStatus(container, campaign.campaignId);
    }
    view.update(status);
    return { imported, campaign, status, elapsedMs: Date.now() - started };
  } finally {
    view.stop();
    await worker.close();
  }
}
