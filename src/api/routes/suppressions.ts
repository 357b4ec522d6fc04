/**
 * POST /api/suppressions: `bulksms suppress --phone <number> [--reason <text>] [--country <code>]` over HTTP, so an
 * integrator can record an opt-out (a STOP reply its own system received) without shell access to the server.
 * Idempotent: a number already suppressed answers `added: 0`, so a retry after a timeout changes nothing.
 */
import type { FastifyInstance } from 'fastify';
import { auditNote } from '../../access/fastify-access';
import { addSuppressions, maskedSuppression } from '../../suppression/suppression';
import type { ApiDeps } from '../deps';
import { errorResponses } from './schemas';

interface SuppressBody {
  phone: string;
  reason?: string;
  country?: string;
}

export function registerSuppressionRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Body: SuppressBody }>(
    '/api/suppressions',
    {
      schema: {
        tags: ['suppressions'],
        summary: 'Add one number to the global suppression list (never sent to again; kept out of later imports); `added` is 0 if it was there',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['phone'],
          properties: {
            // Bounded like the import's phone cell: an invalid value is quoted back in the 400 and the 4xx log line.
            phone: { type: 'string', maxLength: 64, description: 'the number as typed: +91 98765 43210, 9876543210, …' },
            reason: { type: 'string', maxLength: 500, description: 'why (stored with the number)' },
            country: { type: 'string', maxLength: 8, description: 'default country of a number without +CC (ISO code); default IN' },
          },
        },
        response: errorResponses,
      },
    },
    async (req) => {
      const { phone, reason, country } = req.body;
      // source 'api', as the CLI's rows say 'cli': the list shows where an opt-out came from.
      const result = await addSuppressions(deps.container, [{ phone, source: 'api', ...(reason !== undefined ? { reason } : {}) }], {
        ...(country !== undefined ? { country } : {}),
      });
      // The audit entry says which number stopped receiving (masked, as the audit log holds no number in clear).
      const masked = maskedSuppression(phone, country);
      if (masked) auditNote(req, { details: { phone: masked } });
      return result;
    },
  );
}
