/**
 * Delivery-report webhook. The provider form-POSTs one callback per message (SessionId, SmsTo, SmsStatus, …;
 * see shared/reference/2factor-api.md §5) to /webhooks/dlr/<WEBHOOK_SECRET>. The secret is checked in
 * `onRequest`, before the body is even parsed: a disabled webhook is 404, a wrong secret 401, audited as
 * `access.denied` like the API's refusals (rate-limited per address and reason): someone guessing the secret, or a
 * provider still posting to an old URL, shows in the audit log.
 */
import type { FastifyInstance } from 'fastify';
import type { DeniedAccessRecorder } from '../../access/denied-audit';
import { UnauthorizedError } from '../../access/errors';
import { NotFoundError, ValidationError } from '../../errors';
import { secretEquals } from '../auth';
import type { ApiDeps } from '../deps';
import { errorResponses } from './schemas';

export function registerWebhookRoutes(app: FastifyInstance, deps: ApiDeps, opts: { deniedAudit?: DeniedAccessRecorder } = {}): void {
  const expected = deps.container.config.WEBHOOK_SECRET;

  app.post<{ Params: { secret: string }; Body: unknown }>(
    '/webhooks/dlr/:secret',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Delivery-report callback (form or JSON fields); the path segment is WEBHOOK_SECRET',
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        response: errorResponses,
      },
      onRequest: async (req) => {
        if (!expected) throw new NotFoundError('delivery-report webhook is disabled (WEBHOOK_SECRET is not set)');
        const { secret } = req.params as { secret: string };
        if (!secretEquals(secret, expected)) {
          await opts.deniedAudit?.record(req, { status: 401, reason: secret ? 'invalid_webhook_secret' : 'missing_webhook_secret' });
          throw new UnauthorizedError('invalid webhook secret');
        }
      },
    },
    async (req) => {
      const fields = toFields(req.body);
      const result = await deps.services.applyDeliveryCallback(deps.container, fields);
      return { ok: true, result: result ?? null };
    },
  );
}

/** Flattens a parsed form/JSON body to string fields; repeated form keys keep their last value. */
function toFields(body: unknown): Record<string, string> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('callback body must be form fields or a JSON object', 'body');
  }
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    const value = Array.isArray(v) ? v[v.length - 1] : v;
    if (value === null || value === undefined || typeof value === 'object') continue;
    fields[k] = String(value);
  }
  if (Object.keys(fields).length === 0) throw new ValidationError('callback carried no fields', 'body');
  return fields;
}
