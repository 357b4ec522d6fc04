/**
 * The campaign index: campaigns newest first, each with the counts of its latest run, in keyset pages. One query
 * for every reader — `GET /api/campaigns` (and the dashboard over it) and `bulksms campaign list` — so the two
 * cannot disagree about order, filters, paging or fields.
 */
import type { Container } from '../container';
import type { CampaignStatus } from '../generated/prisma/enums';
import { ValidationError } from '../errors';
import { NEWEST_FIRST, createdBefore, decodeCampaignCursor, encodeCampaignCursor, pageOf } from '../lib/cursor';

export const CAMPAIGN_STATUSES = ['draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed'] as const satisfies readonly CampaignStatus[];

/** Page sizes of the index: the dashboard asks for 50. */
export const CAMPAIGN_PAGE = { min: 1, max: 100, default: 20 } as const;

export interface CampaignListQuery {
  status?: string;
  limit?: number;
  /** `nextCursor` of the previous page (of the same `status`). */
  cursor?: string;
}

/**
 * What the index needs of a campaign's status: the sending domain's getCampaignStatus, injected (the API passes its
 * memo of it) so this module does not import src/sending. `updatedAt` is the row as just read: a memo of an older
 * version of the row must not be used.
 */
export interface CampaignProgress {
  status: string;
  total: number;
  counts: object;
  runs?: readonly { runNumber: number; startedAt: Date | null }[];
}
export type ProgressOf<P extends CampaignProgress> = (campaignId: string, updatedAt: Date) => Promise<P>;

/** The campaign's own fields every reader shows (the detail view adds to them). */
export const CAMPAIGN_FIELDS = {
  id: true, name: true, type: true, sender: true, status: true, pauseReason: true, alert: true, listId: true,
  text: true, templateName: true, scheduleAt: true, cron: true, timezone: true, encoding: true, segmentsMax: true,
  credits: true, regulated: true, createdAt: true, updatedAt: true, startedAt: true, completedAt: true,
  list: { select: { name: true, status: true } },
} as const;

/** Which run the counts are of (the latest), and how many runs there are; null before the first start. */
export interface LatestRun {
  runNumber: number;
  runCount: number;
  startedAt: Date | null;
}

export function latestRunOf(progress: CampaignProgress): LatestRun | null {
  const runs = progress.runs ?? [];
  const latest = runs[runs.length - 1];
  return latest ? { runNumber: latest.runNumber, runCount: runs.length, startedAt: latest.startedAt } : null;
}

export interface CampaignPage<P extends CampaignProgress> {
  items: {
    id: string;
    name: string;
    type: string;
    sender: string;
    /** The campaign's status as its runs make it (getCampaignStatus), not the row's alone. */
    status: string;
    pauseReason: string | null;
    alert: string | null;
    listId: string;
    listName: string;
    /** The contact list's status: `deleted` (or `deleting`) once it was deleted after the campaign finished. */
    listStatus: string;
    text: string | null;
    templateName: string | null;
    scheduleAt: Date | null;
    cron: string | null;
    timezone: string;
    encoding: string | null;
    segmentsMax: number | null;
    credits: number | null;
    /** Its messages are kept RETENTION_REGULATED_DAYS before archiving (banking), not RETENTION_DAYS. */
    regulated: boolean;
    createdAt: Date;
    updatedAt: Date;
    startedAt: Date | null;
    completedAt: Date | null;
    total: number;
    counts: P['counts'];
    run: LatestRun | null;
  }[];
  /** Pass back as `cursor` (with the same `status`) for the next page; null on the last. */
  nextCursor: string | null;
}

/** Checks what an adapter could not: the CLI's options arrive unchecked (the API's schema checks them first). */
function checkQuery(query: CampaignListQuery): { status: CampaignStatus | undefined; limit: number } {
  const { status, limit = CAMPAIGN_PAGE.default } = query;
  if (status !== undefined && !(CAMPAIGN_STATUSES as readonly string[]).includes(status)) {
    throw new ValidationError((n) => `${n('status')}: "${status}" is not a campaign status (one of ${CAMPAIGN_STATUSES.join(', ')})`, 'status');
  }
  if (!Number.isInteger(limit) || limit < CAMPAIGN_PAGE.min || limit > CAMPAIGN_PAGE.max) {
    throw new ValidationError((n) => `${n('limit')} must be a whole number from ${CAMPAIGN_PAGE.min} to ${CAMPAIGN_PAGE.max}`, 'limit');
  }
  return { status: status as CampaignStatus | undefined, limit };
}

export async function listCampaigns<P extends CampaignProgress>(
  deps: Pick<Container, 'prisma'>,
  query: CampaignListQuery,
  progressOf: ProgressOf<P>,
): Promise<CampaignPage<P>> {
  const { status, limit } = checkQuery(query);
  // Keyset on (created_at, id): a campaign created while the user pages is newer than the cursor, so it
  // neither repeats a row of a later page nor pushes one off it.
  const after = query.cursor ? decodeCampaignCursor(query.cursor, [status]) : undefined;
  const rows = await deps.prisma.campaign.findMany({
    where: { ...(status ? { status } : {}), ...createdBefore(after) },
    orderBy: NEWEST_FIRST,
    take: limit + 1,
    select: CAMPAIGN_FIELDS,
  });
  const { page, nextCursor } = pageOf(rows, limit, (last) => encodeCampaignCursor(last, [status]));
  // One status query per campaign on the page (bounded by `limit`), so the list agrees with the detail view.
  const items = await Promise.all(
    page.map(async ({ list, ...c }) => {
      const progress = await progressOf(c.id, c.updatedAt);
      return { ...c, listName: list.name, listStatus: list.status, status: progress.status, total: progress.total, counts: progress.counts, run: latestRunOf(progress) };
    }),
  );
  return { items, nextCursor };
}
