/**
 * Opaque keyset cursors for message listings. The cursor is the last returned message id (a bigint),
 * base64url-encoded so clients treat it as a token rather than doing arithmetic on it.
 */
import { ValidationError } from '../errors';

const MAX_BIGINT = 2n ** 63n - 1n;

export function encodeCursor(id: bigint): string {
  return Buffer.from(`m:${id.toString()}`, 'utf8').toString('base64url');
}

/** Decodes a cursor from a query string; a malformed one is a 400 naming the `cursor` field. */
export function decodeCursor(cursor: string): bigint {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^m:(\d{1,19})$/.exec(text);
  const id = match ? BigInt(match[1]!) : -1n;
  // Ids are PostgreSQL bigints: 19 digits can still exceed one (the query then failed with a 500).
  if (id < 0n || id > MAX_BIGINT) throw new ValidationError('querystring/cursor is not a valid cursor', 'cursor');
  return id;
}
