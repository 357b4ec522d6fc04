/**
 * PostgreSQL text cannot hold U+0000: a NUL anywhere in a request's strings failed its query as a 500 ("invalid
 * byte sequence for encoding UTF8: 0x00"). Every JSON/form body, query string and path parameter is checked
 * before validation; the answer is a 400 naming the field. (Multipart text fields are checked by their route.)
 */
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../errors';

/**
 * How deep a request's JSON may nest. No input of the API nests more than 2 levels; the walk below recursed once per
 * level, and a 1 MB body of `[[[[…` overflowed the stack (a 500 with a stack trace in the log, on every request).
 */
export const MAX_NESTING = 32;

/** The path (`a.b[2]`) of the first string holding a NUL, or null; a 400 for a value nested deeper than MAX_NESTING. */
export function findNul(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path || 'value' : null;
  if (!value || typeof value !== 'object') return null;
  if (depth >= MAX_NESTING) throw new ValidationError(`${path || 'body'}: nested deeper than ${MAX_NESTING} levels`, path || 'body');
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const found = findNul(v, `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    if (k.includes('\u0000')) return path ? `${path}.${k}` : k;
    const found = findNul(v, path ? `${path}.${k}` : k, depth + 1);
    if (found) return found;
  }
  return null;
}

export function registerNulGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (req) => {
    for (const part of [req.params, req.query, req.body]) {
      const field = findNul(part);
      if (field) throw new ValidationError(`${field}: contains a NUL character (U+0000)`, field);
    }
  });
}
