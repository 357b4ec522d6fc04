/**
 * `bulksms campaign list`: the campaigns, newest first, with the counts of their latest run — what
 * `GET /api/campaigns` and the dashboard show, from the same code (src/campaign/campaign-listing.ts). Without it an
 * id printed once by `campaign create` was lost to an operator on the command line.
 */
import type { Command } from 'commander';
import { maskDigitRuns } from '../../access/policy';
import { CAMPAIGN_PAGE, CAMPAIGN_STATUSES, listCampaigns, type CampaignPage } from '../../campaign/campaign-listing';
import { getCampaignStatus, type CampaignStatusView } from '../../sending/campaign-control';
import { withContainer } from '../context';
import { formatTable, istOrDash, nextPageHint, parseLimit } from '../listing';
import { printResult } from '../output';
import { campaignGroup } from './campaign-group';
import { listGoneNote } from './campaign-control';

interface ListOptions {
  status?: string;
  limit?: string;
  cursor?: string;
  json?: boolean;
}

type Item = CampaignPage<CampaignStatusView>['items'][number];

/** done = every message that has its outcome, as `campaign status` counts it. */
function done(c: Item): number {
  const k = c.counts;
  return k.sent + k.delivered + k.failed + k.unknown + k.suppressed + k.cancelled;
}

function started(c: Item): string {
  const at = istOrDash(c.run?.startedAt ?? null);
  // A cron campaign's counts are of its latest firing: say so, or they read as the campaign's totals.
  return c.run && c.run.runCount > 1 ? `${at} (run ${c.run.runNumber} of ${c.run.runCount})` : at;
}

export function campaignTable(items: readonly Item[]): string {
  return formatTable(items, [
    { header: 'ID', value: (c) => c.id },
    { header: 'NAME', value: (c) => c.name, max: 24 },
    { header: 'TYPE', value: (c) => c.type },
    { header: 'STATUS', value: (c) => `${c.status}${c.alert ? ' (alert)' : ''}${listGoneNote(c.listStatus)}` },
    { header: 'DONE/TOTAL', value: (c) => `${done(c)}/${c.total}`, align: 'right' },
    { header: 'SENT', value: (c) => String(c.counts.sent), align: 'right' },
    { header: 'DELIVERED', value: (c) => String(c.counts.delivered), align: 'right' },
    { header: 'FAILED', value: (c) => String(c.counts.failed), align: 'right' },
    { header: 'CREATED', value: (c) => istOrDash(c.createdAt) },
    { header: 'STARTED', value: started },
  ]);
}

export function registerCampaignList(program: Command): void {
  campaignGroup(program)
    .command('list')
    .alias('ls')
    .description('campaigns, newest first, with the counts of their latest run (as GET /api/campaigns)')
    .option('--status <status>', `only campaigns in this status: ${CAMPAIGN_STATUSES.join(', ')}`)
    .option('--limit <n>', `at most n campaigns (${CAMPAIGN_PAGE.min}-${CAMPAIGN_PAGE.max}, default ${CAMPAIGN_PAGE.default})`)
    .option('--cursor <cursor>', 'the next page: the `nextCursor` of the previous one (with the same --status)')
    .option('--json', 'print one JSON object: {campaigns, nextCursor}')
    .action(
      withContainer(async (c, opts: ListOptions) => {
        const page = await listCampaigns(c, { status: opts.status, limit: parseLimit(opts.limit), cursor: opts.cursor }, (id) => getCampaignStatus(c, id));
        // A pause reason may quote the provider's answer, numbers and all: masked as for an API caller without an
        // OTP grant (the command line has none), so phones are never printed.
        const campaigns = page.items.map((item) => ({ ...item, pauseReason: item.pauseReason === null ? null : maskDigitRuns(item.pauseReason) }));
        printResult(opts, { campaigns, nextCursor: page.nextCursor }, () =>
          [
            campaigns.length ? campaignTable(campaigns) : opts.cursor ? 'no more campaigns' : 'no campaigns',
            ...nextPageHint('bulksms campaign list', page.nextCursor, [
              opts.status && `--status ${opts.status}`,
              opts.limit && `--limit ${opts.limit}`,
            ]),
          ].join('\n'),
        );
      }),
    );
}
