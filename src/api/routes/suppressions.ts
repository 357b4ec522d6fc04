/**
 * POST /api/suppressions: `bulksms suppress --phone <number> [--reason <text>] [--country <code>]` over HTTP, so an
 * integrator can record an opt-out (a STOP reply its own system received) without shell access to the server; with
 * `phones` (up to MAX_BATCH), a DND list at once, all or nothing like `bulksms suppress <file>`.
 * Idempotent: a number already suppressed answers `added: 0`, so a retry after a timeout changes nothing.
 * GET and DELETE /api/suppressions/:phone: `bulksms suppression check` and `suppression remove --phone` over HTTP.
 */
import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../../access/audit';
import { auditNote, freeTextFor, phoneFor } from '../../access/fastify-access';
import { maskPhone } from '../../access/policy';
import { findSuppression, readSuppressionNumber, removalAuditDetails, removeSuppression } from '../../suppression/lookup-remove';
import { addSuppressions, maskedSuppression } from '../../suppression/suppression';
import type { ApiDeps } from '../deps';
import { countPhoneLookup } from '../phone-lookups';
import { emptyBodyAsObject, errorResponses } from './schemas';
import { ValidationError } from '../../errors';

interface PhoneParams {
  phone: string;
}

const phoneParams = {
  type: 'object',
  required: ['phone'],
  properties: {
    phone: { type: 'string', minLength: 1, maxLength: 64, description: 'the number as typed, URL-encoded: %2B91%2098765%2043210, 09876543210, …' },
  },
} as const;

const countryProperty = { type: 'string', maxLength: 8, description: 'default country of a number without +CC (ISO code); default IN' } as const;

/** DELETE's fields, in its JSON body or its query string: a reason quoting a customer is better kept off the URL. */
interface RemovalFields {
  reason?: string;
  country?: string;
}

const removalFields = {
  type: 'object',
  additionalProperties: false,
  properties: {
    reason: { type: 'string', minLength: 1, maxLength: 500, description: 'why it may receive messages again (kept in the audit log)' },
    country: countryProperty,
  },
} as const;

/** Each field in the body or the query, not both (which one would the audit log keep?); the reason in one of them. */
async function removalFieldsOnce(req: { query: unknown; body: unknown }): Promise<void> {
  const has = (where: unknown, field: string): boolean => typeof where === 'object' && where !== null && field in where;
  for (const field of ['reason', 'country']) {
    if (has(req.query, field) && has(req.body, field)) {
      throw new ValidationError(`${field} given in both the query string and the body: give it once (the body keeps it out of access logs)`, field);
    }
  }
  if (!has(req.query, 'reason') && !has(req.body, 'reason')) {
    throw new ValidationError('reason is required: why the number may receive messages again (the JSON body\'s "reason", or ?reason=)', 'reason');
  }
}

interface SuppressBody {
  phone?: string;
  phones?: string[];
  reason?: string;
  country?: string;
}

/**
 * Numbers one POST may carry: 10,000 numbers as typed (≤ 64 characters each) stay under the 1 MiB body limit, and one
 * insert statement per 5,000 keeps the transaction short. A larger DND list goes as a file (`bulksms suppress`).
 */
const MAX_BATCH = 10_000;

/** Exactly one of `phone` and `phones`: with both, which would the caller have meant? */
function numbersOf(body: SuppressBody): string[] {
  if (body.phone !== undefined && body.phones !== undefined) {
    throw new ValidationError('give either phone (one number) or phones (a list), not both', 'phones');
  }
  if (body.phone !== undefined) return [body.phone];
  if (body.phones !== undefined) return body.phones;
  throw new ValidationError(`phone is required (one number), or phones (up to ${MAX_BATCH.toLocaleString('en')} numbers)`, 'phone');
}

export function registerSuppressionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Body: SuppressBody }>(
    '/api/suppressions',
    {
      schema: {
        tags: ['suppressions'],
        summary:
          'Add numbers to the global suppression list (never sent to again; kept out of later imports): `phone` for one, or ' +
          `\`phones\` for up to ${MAX_BATCH} at once (all or nothing: one invalid number → 400 naming each by its position, none added); ` +
          '`added` counts those that were not there yet',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            // Bounded like the import's phone cell: an invalid value is quoted back in the 400 and the 4xx log line.
            phone: { type: 'string', maxLength: 64, description: 'the number as typed: +91 98765 43210, 9876543210, …' },
            phones: {
              type: 'array',
              minItems: 1,
              maxItems: MAX_BATCH,
              items: { type: 'string', maxLength: 64 },
              description: `numbers as typed (instead of phone), up to ${MAX_BATCH}; one reason and country for all`,
            },
            reason: { type: 'string', maxLength: 500, description: 'why (stored with each number)' },
            country: { type: 'string', maxLength: 8, description: 'default country of a number without +CC (ISO code); default IN' },
          },
        },
        response: errorResponses,
      },
    },
    async (req) => {
      const { reason, country } = req.body;
      const numbers = numbersOf(req.body);
      // source 'api', as the CLI's rows say 'cli': the list shows where an opt-out came from.
      const result = await addSuppressions(
        deps.container,
        numbers.map((phone) => ({ phone, source: 'api', ...(reason !== undefined ? { reason } : {}) })),
        { ...(country !== undefined ? { country } : {}) },
      );
      // The audit entry says which number stopped receiving (masked, as the audit log holds no number in clear); of a
      // list, how many were sent and added (10,000 masked numbers would make one entry the size of the list).
      if (req.body.phones !== undefined) {
        auditNote(req, { details: { numbers: numbers.length, added: result.added } });
      } else {
        const masked = maskedSuppression(numbers[0]!, country);
        if (masked) auditNote(req, { details: { phone: masked } });
      }
      return result;
    },
  );

  app.get<{ Params: PhoneParams; Querystring: { country?: string } }>(
    '/api/suppressions/:phone',
    {
      schema: {
        tags: ['suppressions'],
        summary: 'Whether a number is on the global suppression list, why, from where and since when (the number masked as elsewhere)',
        params: phoneParams,
        querystring: { type: 'object', additionalProperties: false, properties: { country: countryProperty } },
        response: errorResponses,
      },
    },
    async (req) => {
      const { country } = req.query;
      const number = readSuppressionNumber(req.params.phone, country);
      // Each answer says whether a guessed number is there; with the masked numbers of a campaign's suppressed
      // messages that would unmask them one guess at a time. Counted in the same budget as message look-ups by phone.
      if (req.access?.maskPhones !== false) {
        const first = await countPhoneLookup(deps.container.redis, deps.container.config.QUEUE_PREFIX, req.access?.tokenId ?? `ip:${req.ip}`, number);
        if (first) {
          await recordAudit(deps.container, { tokenId: req.access?.tokenId ?? null, action: 'suppression.lookup', ip: req.ip, details: { phone: maskPhone(number) } });
        }
      }
      const { suppressed, entry } = await findSuppression(deps.container, number);
      return {
        phone: phoneFor(req, number),
        suppressed,
        // Free text an operator typed, or a file's name: it may quote numbers.
        reason: entry?.reason ? freeTextFor(req, entry.reason) : null,
        source: entry ? freeTextFor(req, entry.source) : null,
        since: entry?.since.toISOString() ?? null,
      };
    },
  );

  app.delete<{ Params: PhoneParams; Querystring: RemovalFields; Body: RemovalFields }>(
    '/api/suppressions/:phone',
    {
      // Refused before the request is audited, as a field missing from a schema is.
      preValidation: [emptyBodyAsObject, removalFieldsOnce],
      schema: {
        tags: ['suppressions'],
        summary:
          'Take a number off the global suppression list (it may be sent to again; messages already `suppressed` stay so); `removed` is 0 if it was not there. ' +
          '`reason` is required, in the JSON body (kept out of access logs) or the query string, not both',
        params: phoneParams,
        querystring: removalFields,
        body: removalFields,
        response: errorResponses,
      },
    },
    async (req) => {
      // removalFieldsOnce saw to it: a reason, in one of the two.
      const reason = (req.body.reason ?? req.query.reason)!;
      const country = req.body.country ?? req.query.country;
      const removal = await removeSuppression(deps.container, req.params.phone, { reason, ...(country !== undefined ? { country } : {}) });
      // The audit entry says which number may receive again and why (both masked: the audit log holds no number in clear).
      auditNote(req, { details: removalAuditDetails(removal, reason) });
      return { phone: phoneFor(req, removal.phone), removed: removal.removed };
    },
  );
}
