/**
 * Opaque keyset cursors for listings (the HTTP API's `cursor`, the CLI's `--cursor`), base64url-encoded so clients
 * treat them as tokens rather than doing arithmetic on them. A message cursor is the last returned message id (a
 * bigint); a campaign cursor is the last returned campaign's (created_at, id), the key the campaign list is sorted
 * on, newest first.
 *
 * Each cursor also carries a tag of the query it was issued for (the campaign and the filters): a key only says
 * where the last page ended, and applied to another query it silently skipped rows. Message ids are global, so a
 * cursor of campaign A passed with campaign B's id, or one from `status=failed` passed with `status=unknown`, started
 * B's (or the unknown) messages after A's last id and never returned the ones before it. Such a cursor is now a 400.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../errors';

const MAX_BIGINT = 2n ** 63n - 1n;
// Named through the caller's namer: `cursor` for the HTTP API, `--cursor` for the CLI.
const invalidCursor = () => new ValidationError((n) => `${n('cursor')} is not a valid cursor`, 'cursor');
const otherQuery = () =>
  new ValidationError(
    (n) =>
      `${n('cursor')} was issued for another query: pass it with the same campaign and filters as the page it came from, or start without a cursor`,
    'cursor',
  );

/** The query a cursor belongs to: every parameter that selects rows (not `limit`, which only sizes the page). */
export type CursorScope = readonly (string | number | null | undefined)[];

/** 12 hex digits of SHA-256: enough to tell queries apart, short enough to keep cursors in their length limits. */
function tagOf(scope: CursorScope): string {
  return createHash('sha256').update(JSON.stringify(scope.map((v) => v ?? null)), 'utf8').digest('hex').slice(0, 12);
}

export function encodeCursor(id: bigint, scope: CursorScope): string {
  return Buffer.from(`m:${id.toString()}:${tagOf(scope)}`, 'utf8').toString('base64url');
}

/** Decodes a cursor from a query string; a malformed one, or one of another query, is a 400 naming the `cursor` field. */
export function decodeCursor(cursor: string, scope: CursorScope): bigint {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^m:(\d{1,19}):([0-9a-f]{12})$/.exec(text);
  const id = match ? BigInt(match[1]!) : -1n;
  // Ids are PostgreSQL bigints: 19 digits can still exceed one (the query then failed with a 500).
  if (id < 0n || id > MAX_BIGINT) throw invalidCursor();
  if (match![2] !== tagOf(scope)) throw otherQuery();
  return id;
}

export interface CampaignKey {
  createdAt: Date;
  id: string;
}

/** created_at is stored to the millisecond (timestamptz(3)), so epoch milliseconds carry it exactly. */
export function encodeCampaignCursor(key: CampaignKey, scope: CursorScope): string {
  return Buffer.from(`c:${key.createdAt.getTime()}:${key.id}:${tagOf(scope)}`, 'utf8').toString('base64url');
}

/** Decodes a campaign-list cursor; a malformed one, or one of another query, is a 400 naming the `cursor` field. */
export function decodeCampaignCursor(cursor: string, scope: CursorScope): CampaignKey {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^c:(\d{1,15}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):([0-9a-f]{12})$/.exec(text);
  const createdAt = match ? new Date(Number(match[1])) : null;
  if (!match || !createdAt || Number.isNaN(createdAt.getTime())) throw invalidCursor();
  if (match[3] !== tagOf(scope)) throw otherQuery();
  return { createdAt, id: match[2]! };
}

/** The contact-list index is keyed like the campaign list; its own tag keeps a campaign cursor from paging it. */
const LIST_SCOPE = ['contact_lists'] as const;
export const encodeListCursor = (key: CampaignKey): string => encodeCampaignCursor(key, LIST_SCOPE);
export const decodeListCursor = (cursor: string): CampaignKey => decodeCampaignCursor(cursor, LIST_SCOPE);

/**
 * The rows after `after` in a newest-first listing keyed on (created_at, id), as a Prisma `where` fragment; with
 * NEWEST_FIRST as the order. Shared by the campaign list and the contact-list index.
 */
export function createdBefore(after: CampaignKey | undefined): { OR?: ({ createdAt: { lt: Date } } | { createdAt: Date; id: { lt: string } })[] } {
  return after ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] } : {};
}

export const NEWEST_FIRST = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];

/**
 * A page of `limit` from rows read with `take: limit + 1`: the extra row only says there is a next page, whose cursor
 * is the key of the page's last row.
 */
export function pageOf<T extends CampaignKey>(rows: T[], limit: number, encode: (last: T) => string): { page: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, nextCursor: rows.length > limit && last ? encode(last) : null };
}
