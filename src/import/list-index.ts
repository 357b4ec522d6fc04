/**
 * Reading contact lists: the index (newest first, keyset pages) and one list by name or id. One query for every
 * reader — `GET /api/lists`, `GET /api/lists/:id`, `bulksms list ls|show` and `campaign create --list` — so they
 * agree, and each settles a list whose importer is gone (`failed`, not `importing` for good) before showing it.
 */
import type { Container } from '../container';
import type { ListStatus } from '../generated/prisma/enums';
import { ValidationError } from '../errors';
import { NEWEST_FIRST, createdBefore, decodeListCursor, encodeListCursor, pageOf } from '../lib/cursor';
import { closestName } from '../lib/closest-name';
import { removeUnfinishedReport } from './import-contacts';
import { failAbandonedImports, type ListOutcome } from './list-store';

export type ListIndexDeps = Pick<Container, 'config' | 'logger' | 'prisma' | 'pg'>;

/** Page sizes of the index. */
export const LIST_PAGE = { min: 1, max: 500, default: 100 } as const;

export const LIST_FIELDS = {
  id: true, name: true, status: true, failureReason: true, sourceFile: true, country: true, phoneColumn: true,
  columns: true, rows: true, accepted: true, rejected: true, duplicates: true, suppressed: true,
  rejectReportPath: true, createdAt: true, completedAt: true,
} as const;

/**
 * A contact list as stored. `columns` are its variables, usable as `{{column}}`; `rejectReportPath` is the row
 * report's path on the server (null when nothing was rejected): the CLI's to print, the API's to turn into a URL.
 */
export interface ContactListView extends Omit<ListOutcome, 'phoneColumn'> {
  id: string;
  name: string;
  status: ListStatus;
  failureReason: string | null;
  sourceFile: string | null;
  country: string;
  /** Null until the import has found it (still importing, or failed before). */
  phoneColumn: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Marks the lists whose importer was killed `failed` (and removes what it left on disk). */
function settleAbandonedImports(deps: ListIndexDeps): Promise<number> {
  return failAbandonedImports(deps.pg, (id) => removeUnfinishedReport(deps, id));
}

export async function listContactLists(
  deps: ListIndexDeps,
  query: { limit?: number; cursor?: string },
): Promise<{ items: ContactListView[]; nextCursor: string | null }> {
  const { limit = LIST_PAGE.default, cursor } = query;
  // The API's schema checks it first; the CLI's --limit arrives unchecked.
  if (!Number.isInteger(limit) || limit < LIST_PAGE.min || limit > LIST_PAGE.max) {
    throw new ValidationError((n) => `${n('limit')} must be a whole number from ${LIST_PAGE.min} to ${LIST_PAGE.max}`, 'limit');
  }
  const after = cursor ? decodeListCursor(cursor) : undefined;
  await settleAbandonedImports(deps);
  // Keyset on (created_at, id) like the campaign list: past the newest page, older lists stay within reach
  // (a campaign can name a list only by a name or id the caller already knows).
  const rows = await deps.prisma.contactList.findMany({
    // A deleted list kept only for its campaigns' pages is nobody's to pick any more.
    where: { status: { not: 'deleted' }, ...createdBefore(after) },
    orderBy: NEWEST_FIRST,
    take: limit + 1,
    select: LIST_FIELDS,
  });
  const { page: items, nextCursor } = pageOf(rows, limit, encodeListCursor);
  return { items, nextCursor };
}

/**
 * The list named `ref`, or with id `ref` (`match: 'id'`: with id `ref` only, for a URL's `:id`); null when there is
 * none.
 */
export async function findContactList(deps: ListIndexDeps, ref: string, match: 'nameOrId' | 'id' = 'nameOrId'): Promise<ContactListView | null> {
  const byId = UUID.test(ref);
  if (match === 'id' && !byId) return null;
  const find = () =>
    deps.prisma.contactList.findFirst({
      // A name may itself look like an id: either matches.
      where: match === 'id' ? { id: ref } : byId ? { OR: [{ id: ref }, { name: ref }] } : { name: ref },
      select: LIST_FIELDS,
    });
  const list = await find();
  // Still importing, or its importer was killed: read again once a killed one is settled, so it says which.
  return list?.status === 'importing' && (await settleAbandonedImports(deps)) > 0 ? find() : list;
}

/** How many of the newest lists a mistyped name is compared with: enough for any team's lists, cheap on a miss. */
const SIMILAR_NAME_CANDIDATES = 1000;

/**
 * The list a name that matched none most likely meant (`Orders`, `diwalli`), among the newest lists not deleted;
 * null when none is close. Only read when a lookup failed, to say "did you mean".
 */
export async function similarListName(deps: Pick<ListIndexDeps, 'prisma'>, typed: string): Promise<string | null> {
  const rows = await deps.prisma.contactList.findMany({
    where: { status: { notIn: ['deleted', 'deleting'] } },
    select: { name: true },
    orderBy: NEWEST_FIRST,
    take: SIMILAR_NAME_CANDIDATES,
  });
  return closestName(typed, rows.map((r) => r.name));
}

/** ` (did you mean "orders"?)` after a refusal of a name that matched no list, or `otherwise` when none is close. */
export async function didYouMeanList(deps: Pick<ListIndexDeps, 'prisma'>, typed: string, otherwise: string): Promise<string> {
  const similar = await similarListName(deps, typed);
  return similar === null ? otherwise : ` (did you mean "${similar}"?)`;
}
