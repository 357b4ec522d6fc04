/** Per-message listing (keyset pagination) and the formula-safe failures export. */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../../access/audit';
import { freeTextFor, phoneFor } from '../../access/fastify-access';
import { maskPhone } from '../../access/policy';
import { countPhoneLookup } from '../phone-lookups';
import { NotFoundError, ValidationError } from '../../errors';
import type { Pool } from 'pg';
import type { MessageStatus, OutcomeClass } from '../../generated/prisma/enums';
import type { ApiDeps } from '../deps';
import { inCampaignRuns } from '../../sending/ledger';
import { messagesOf, runIdOf, runQuerySchema } from '../run-scope';
import { csvLine } from '../csv-safe';
import { resolveCountry } from '../../import/import-contacts';
import { normalisePhone } from '../../import/phone';
import { decodeCursor, encodeCursor } from '../../lib/cursor';
import { MESSAGE_STATUS_ENUM, OUTCOME_CLASS_ENUM, errorResponses, idParams } from './schemas';

interface MessageQuery {
  status?: MessageStatus;
  phone?: string;
  outcomeClass?: OutcomeClass;
  run?: number;
  cursor?: string;
  limit: number;
}

const messageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: MESSAGE_STATUS_ENUM },
    phone: { type: 'string', minLength: 1, maxLength: 32 },
    outcomeClass: { type: 'string', enum: OUTCOME_CLASS_ENUM },
    run: runQuerySchema,
    cursor: { type: 'string', maxLength: 64 },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  },
} as const;

interface MessageRow {
  id: string;
  runId: string;
  phone: string;
  status: MessageStatus;
  attempts: number;
  segments: number;
  sessionId: string | null;
  outcomeClass: OutcomeClass | null;
  providerText: string | null;
  failureReason: string | null;
  queuedAt: Date | null;
  sentAt: Date | null;
  deliveredAt: Date | null;
  failedAt: Date | null;
  updatedAt: Date;
}

const MESSAGE_COLUMNS = `id::text AS id, run_id AS "runId", phone, status::text AS status, attempts, segments,
  session_id AS "sessionId", outcome_class::text AS "outcomeClass", provider_text AS "providerText",
  failure_reason AS "failureReason", queued_at AS "queuedAt", sent_at AS "sentAt", delivered_at AS "deliveredAt",
  failed_at AS "failedAt", updated_at AS "updatedAt"`;

const EXPORT_BATCH = 5000;
const CSV_HEADER = [
  'message_id', 'run_id', 'phone', 'status', 'outcome_class', 'failure_reason', 'provider_text', 'attempts', 'updated_at',
];

export function registerMessageRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { pg } = deps.container;
  const tags = ['messages'];

  async function mustExist(id: string): Promise<void> {
    await listCountryOf(id);
  }

  /** The default country of the campaign's list (numbers typed without +CC are read as its); 404 for no campaign. */
  async function listCountryOf(id: string): Promise<string> {
    const { rows } = await pg.query<{ country: string }>(
      'SELECT l.country FROM campaigns c JOIN contact_lists l ON l.id = c.list_id WHERE c.id = $1',
      [id],
    );
    if (!rows[0]) throw new NotFoundError(`campaign ${id} not found`);
    return rows[0].country;
  }

  app.get<{ Params: { id: string }; Querystring: MessageQuery }>(
    '/api/campaigns/:id/messages',
    {
      schema: {
        tags,
        summary: 'Messages of a campaign, oldest first; pass `nextCursor` back as `cursor` for the next page',
        params: idParams,
        querystring: messageQuery,
        response: errorResponses,
      },
    },
    async (req) => {
      const { status, phone, outcomeClass, run, cursor, limit } = req.query;
      const country = await listCountryOf(req.params.id);
      const number = phone ? normalisePhoneFilter(phone, country) : undefined;
      // The cursor is of this campaign and these filters only (cursor.ts); the number as read, however it was typed.
      const scope = [req.params.id, status, number, outcomeClass, run];
      const after = cursor ? decodeCursor(cursor, scope) : undefined;
      const runId = await runIdOf(pg, req.params.id, run);
      // Plain SQL: Prisma's row mapping costs more than the query itself here (see scripts/bench-api.ts).
      const params: unknown[] = [req.params.id];
      const where = ['campaign_id = $1'];
      const add = (sql: string, value: unknown) => {
        params.push(value);
        where.push(sql.replace('?', `$${params.length}`));
      };
      // Through the campaign's runs too, so the planner can pick (run_id, status, id) for a rare status.
      if (runId) add('run_id = ?::uuid', runId);
      if (status) add(`${inCampaignRuns('$1')} AND status = ?::"MessageStatus"`, status);
      if (number !== undefined) {
        // A caller who sees phones masked learns from each answer whether a guessed number is there: counted, limited
        // and audited (src/api/phone-lookups.ts).
        if (req.access?.maskPhones !== false) {
          const first = await countPhoneLookup(deps.container.redis, deps.container.config.QUEUE_PREFIX, req.access?.tokenId ?? `ip:${req.ip}`, number);
          if (first) await recordAudit(deps.container, {
            tokenId: req.access?.tokenId ?? null,
            action: 'message.lookup',
            target: req.params.id,
            ip: req.ip,
            details: { phone: maskPhone(number) },
          });
        }
        add('phone = ?', number);
      }
      if (outcomeClass) add('outcome_class = ?::"OutcomeClass"', outcomeClass);
      if (after !== undefined) add('id > ?::bigint', after.toString());
      params.push(limit + 1);
      const { rows } = await pg.query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE ${where.join(' AND ')} ORDER BY messages.id LIMIT $${params.length}`,
        params,
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      // Phones masked unless the caller is an owner holding a fresh SMS-OTP grant (src/access), and so are the numbers
      // the provider's texts may quote.
      for (const m of page) {
        m.phone = phoneFor(req, m.phone);
        m.providerText = freeTextFor(req, m.providerText);
        m.failureReason = freeTextFor(req, m.failureReason);
      }
      return { items: page, nextCursor: rows.length > limit && last ? encodeCursor(BigInt(last.id), scope) : null };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { run?: number } }>(
    '/api/campaigns/:id/failures.csv',
    {
      schema: {
        tags,
        summary: 'Failed and unknown messages (of one run with `run`) as CSV (streamed; spreadsheet-formula cells neutralised)',
        params: idParams,
        // A misspelt `run` (Run=2) silently exported every run: unknown parameters are a 400, as on the listing.
        querystring: { type: 'object', additionalProperties: false, properties: { run: runQuerySchema } },
        produces: ['text/csv'],
        response: errorResponses,
      },
    },
    async (req, reply) => {
      await mustExist(req.params.id);
      const runId = await runIdOf(pg, req.params.id, req.query.run);
      const fileName = `failures-${req.params.id}${req.query.run ? `-run-${req.query.run}` : ''}.csv`;
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${fileName}"`);
      const shown = { phone: (phone: string) => phoneFor(req, phone), text: (text: string) => freeTextFor(req, text) };
      return reply.send(Readable.from(failureLines(pg, messagesOf(req.params.id, runId), shown)));
    },
  );
}

/**
 * One server-side cursor over the campaign's failures, fetched in batches: a single index scan however large
 * the export, one batch in memory at a time. If the client goes away, the stream is destroyed, the generator's
 * `finally` runs and the connection goes back to the pool.
 */
async function* failureLines(
  pool: Pool,
  scope: { where: string; params: [string] },
  shown: { phone: (phone: string) => string; text: (text: string) => string },
): AsyncGenerator<string> {
  const client = await pool.connect();
  let ok = false;
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(
      `DECLARE failures NO SCROLL CURSOR FOR
         SELECT id::text, run_id, phone, status::text, outcome_class::text, failure_reason, provider_text, attempts, updated_at
           FROM messages WHERE ${scope.where} AND status IN ('failed', 'unknown') ORDER BY messages.id`,
      scope.params,
    );
    yield csvLine(CSV_HEADER);
    for (;;) {
      const { rows } = await client.query<(string | number | Date | null)[]>({
        text: `FETCH ${EXPORT_BATCH} FROM failures`,
        rowMode: 'array',
      });
      if (rows.length === 0) break;
      // Column 2 is the phone, 5 and 6 the failure reason and the provider's text (see the DECLARE above).
      const show = (v: string | number | Date | null, i: number) =>
        typeof v !== 'string' ? v : i === 2 ? shown.phone(v) : i === 5 || i === 6 ? shown.text(v) : v;
      yield rows.map((r) => csvLine(r.map(show))).join('');
    }
    ok = true;
  } finally {
    await client.query(ok ? 'COMMIT' : 'ROLLBACK').catch(() => undefined);
    client.release();
  }
}

/**
 * Phones are stored in E.164; accept the number as an operator types it, read like the import read the list's:
 * `98765 43210`, `098765-43210` or `+91 98765 43210`. Only the E.164 spelling matched, so an Indian operator
 * looking up the 10-digit number they were given found nothing, as if it had never been sent.
 * Anything the list's rules would not accept (`abc`, `12345`) was looked up as typed: an empty 200 that said "never
 * sent" about a typo, and that used up one of a masked caller's lookups a minute. No message can hold such a number
 * (the import refused it), so it is a 400 saying why, before any lookup is counted.
 */
function normalisePhoneFilter(phone: string, country: string): string {
  const read = normalisePhone(phone, resolveCountry(country));
  if (!read.ok) throw new ValidationError(`phone: "${phone}" is not a phone number the list could hold (${read.reason})`, 'phone');
  return read.e164;
}
