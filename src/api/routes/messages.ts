/** Per-message listing (keyset pagination) and the formula-safe failures export. */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../errors';
import type { Prisma } from '../../generated/prisma/client';
import type { MessageStatus, OutcomeClass } from '../../generated/prisma/enums';
import type { ApiDeps } from '../deps';
import { csvLine } from '../csv-safe';
import { decodeCursor, encodeCursor } from '../cursor';
import { MESSAGE_STATUS_ENUM, OUTCOME_CLASS_ENUM, errorResponses, idParams } from './schemas';

interface MessageQuery {
  status?: MessageStatus;
  phone?: string;
  outcomeClass?: OutcomeClass;
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
    cursor: { type: 'string', maxLength: 64 },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  },
} as const;

const MESSAGE_FIELDS = {
  id: true, runId: true, phone: true, status: true, attempts: true, segments: true, sessionId: true,
  outcomeClass: true, providerText: true, failureReason: true, queuedAt: true, sentAt: true, deliveredAt: true,
  failedAt: true, updatedAt: true,
} as const;

const EXPORT_BATCH = 2000;
const CSV_HEADER = [
  'message_id', 'run_id', 'phone', 'status', 'outcome_class', 'failure_reason', 'provider_text', 'attempts', 'updated_at',
];

export function registerMessageRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { prisma } = deps.container;
  const tags = ['messages'];

  async function mustExist(id: string): Promise<void> {
    const found = await prisma.campaign.findUnique({ where: { id }, select: { id: true } });
    if (!found) throw new NotFoundError(`campaign ${id} not found`);
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
      const { status, phone, outcomeClass, cursor, limit } = req.query;
      const after = cursor ? decodeCursor(cursor) : undefined;
      await mustExist(req.params.id);
      const where: Prisma.MessageWhereInput = {
        campaignId: req.params.id,
        ...(status ? { status } : {}),
        ...(phone ? { phone: normalisePhoneFilter(phone) } : {}),
        ...(outcomeClass ? { outcomeClass } : {}),
        ...(after !== undefined ? { id: { gt: after } } : {}),
      };
      const rows = await prisma.message.findMany({ where, orderBy: { id: 'asc' }, take: limit + 1, select: MESSAGE_FIELDS });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: page.map((m) => ({ ...m, id: m.id.toString() })),
        nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null,
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/campaigns/:id/failures.csv',
    {
      schema: {
        tags,
        summary: 'Failed and unknown messages as CSV (streamed; spreadsheet-formula cells neutralised)',
        params: idParams,
        produces: ['text/csv'],
        response: errorResponses,
      },
    },
    async (req, reply) => {
      await mustExist(req.params.id);
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="failures-${req.params.id}.csv"`);
      return reply.send(Readable.from(failureLines(deps, req.params.id)));
    },
  );
}

/** Keyset-batched so a million-row export holds one batch in memory at a time. */
async function* failureLines(deps: ApiDeps, campaignId: string): AsyncGenerator<string> {
  yield csvLine(CSV_HEADER);
  let after = 0n;
  for (;;) {
    const batch = await deps.container.prisma.message.findMany({
      where: { campaignId, status: { in: ['failed', 'unknown'] }, id: { gt: after } },
      orderBy: { id: 'asc' },
      take: EXPORT_BATCH,
      select: {
        id: true, runId: true, phone: true, status: true, outcomeClass: true, failureReason: true,
        providerText: true, attempts: true, updatedAt: true,
      },
    });
    if (batch.length === 0) return;
    yield batch
      .map((m) =>
        csvLine([
          m.id.toString(), m.runId, m.phone, m.status, m.outcomeClass, m.failureReason, m.providerText, m.attempts, m.updatedAt,
        ]),
      )
      .join('');
    after = batch[batch.length - 1]!.id;
    if (batch.length < EXPORT_BATCH) return;
  }
}

/** Phones are stored in E.164; accept the same number typed with spaces, dashes or brackets. */
function normalisePhoneFilter(phone: string): string {
  return phone.replace(/[\s\-()]/g, '');
}
