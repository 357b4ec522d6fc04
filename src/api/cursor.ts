/**
 * Opaque keyset cursors for listings, base64url-encoded so clients treat them as tokens rather than doing arithmetic
 * on them. A message cursor is the last returned message id (a bigint); a campaign cursor is the last returned
 * campaign's (created_at, id), the key the campaign list is sorted on, newest first.
 */
import { ValidationError } from '../errors';

const MAX_BIGINT = 2n ** 63n - 1n;
const invalidCursor = () => new ValidationError('querystring/cursor is not a valid cursor', 'cursor');

export function encodeCursor(id: bigint): string {
  return Buffer.from(`m:${id.toString()}`, 'utf8').toString('base64url');
}

/** Decodes a cursor from a query string; a malformed one is a 400 naming the `cursor` field. */
export function decodeCursor(cursor: string): bigint {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^m:(\d{1,19})$/.exec(text);
  const id = match ? BigInt(match[1]!) : -1n;
  // Ids are PostgreSQL bigints: 19 digits can still exceed one (the query then failed with a 500).
  if (id < 0n || id > MAX_BIGINT) throw invalidCursor();
  return id;
}

export interface CampaignKey {
  createdAt: Date;
  id: string;
}

/** created_at is stored to the millisecond (timestamptz(3)), so epoch milliseconds carry it exactly. */
export function encodeCampaignCursor(key: CampaignKey): string {
  return Buffer.from(`c:${key.createdAt.getTime()}:${key.id}`, 'utf8').toString('base64url');
}

/** Decodes a campaign-list cursor; a malformed one is a 400 naming the `cursor` field. */
export function decodeCampaignCursor(cursor: string): CampaignKey {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^c:(\d{1,15}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(text);
  const createdAt = match ? new Date(Number(match[1])) : null;
  if (!match || !createdAt || Number.isNaN(createdAt.getTime())) throw invalidCursor();
  return { createdAt, id: match[2]! };
}
