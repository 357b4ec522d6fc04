/** Campaigns: create, list (with live counts), detail, lifecycle actions, failures by reason. */
import type { FastifyInstance } from 'fastify';
import { auditNote, freeTextFor } from '../../access/fastify-access';
import { MAX_CAMPAIGN_NAME, MAX_PACK_SIZE } from '../../campaign/validation';
import { NotFoundError } from '../../errors';
import type { ApiDeps, CreateCampaignInput, CreateCampaignResult } from '../deps';
import { createStatusCache } from '../status-cache';
import { idempotencyHeaderSchema, idempotent } from '../idempotency';
import { CAMPAIGN_FIELDS, CAMPAIGN_PAGE, CAMPAIGN_STATUSES, listCampaigns } from '../../campaign/campaign-listing';
import { messagesOf, runIdOf, runQuerySchema } from '../run-scope';
import { rejectsUrl } from './list-rejects';
import { emptyBodyAsObject, errorResponses, idParams } from './schemas';

// Lengths and ranges are the campaign service's to check (src/campaign/validation.ts), not the schema's: it refuses
// them for `campaign create` too, in the same words naming the field ("name: a campaign name is required", where a
// schema said "body/name must NOT have fewer than 1 characters", and a 300-character name passed the CLI only).
const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'list', 'type', 'from'],
  properties: {
    name: { type: 'string', description: `1 to ${MAX_CAMPAIGN_NAME} characters` },
    list: { type: 'string', minLength: 1, description: 'list name or id' },
    type: { type: 'string', enum: ['transactional', 'promotional'] },
    from: { type: 'string', description: 'DLT header / sender id: 6 letters (transactional) or 6 digits (promotional)' },
    text: { type: 'string', description: 'the message, {{column}} filled from the list (\\{{ for a literal {{; not with template)' },
    template: { type: 'string', description: 'a provider template name (not with text)' },
    vars: { type: 'array', items: { type: 'string' } },
    peid: { type: 'string' },
    ctid: { type: 'string' },
    // Not `format: 'date-time'`: that demands a zone, and like `campaign create --at` a time without one is wall-clock
    // time in `tz` (parseAt checks the value and answers 400 naming `at`).
    at: { type: 'string', minLength: 1, maxLength: 64, description: 'ISO-8601; without Z or an offset, wall-clock time in tz (default Asia/Kolkata)' },
    cron: { type: 'string' },
    tz: { type: 'string' },
    packSize: { type: 'integer', description: `recipients per request for identical texts (opt-in packing), 1 to ${MAX_PACK_SIZE}` },
    regulated: { type: 'boolean', description: 'keep its messages RETENTION_REGULATED_DAYS (banking: 7 years) before archiving, instead of RETENTION_DAYS' },
  },
} as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: CAMPAIGN_PAGE.min, maximum: CAMPAIGN_PAGE.max, default: CAMPAIGN_PAGE.default },
    cursor: { type: 'string', maxLength: 128 },
    status: { type: 'string', enum: CAMPAIGN_STATUSES },
  },
} as const;

type Params = { Params: { id: string } };

/**
 * A failed message's reason with its own recipient's number said in words. 2Factor's texts may quote the number they
 * refused (`91XXXXXXXXXX`, or E.164 with its `+`), which made each recipient's refusal a reason of its own: 150 DND
 * refusals were 150 rows of one message each, of which the query's limit kept 100 and silently dropped the rest.
 * Said in words, they are one reason counting every message; any other number the text quotes stays (masked as usual).
 */
const REASON_WITHOUT_RECIPIENT = `replace(replace(COALESCE(failure_reason, provider_text, '(no reason recorded)'),
  phone, '(the recipient''s number)'), substr(phone, 2), '(the recipient''s number)')`;

export function registerCampaignRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { container, services } = deps;
  const tags = ['campaigns'];
  const statuses = createStatusCache();
  /** `updatedAt`: the campaign row as just read; a status memo older than its last change is not used. */
  const statusOf = (id: string, updatedAt: Date) => statuses.get(id, () => services.getCampaignStatus(container, id), updatedAt.getTime());

  async function mustExist(id: string): Promise<void> {
    const { rowCount } = await container.pg.query('SELECT 1 FROM campaigns WHERE id = $1', [id]);
    if (!rowCount) throw new NotFoundError(`campaign ${id} not found`);
  }

  /** A lifecycle action: 404 for an unknown id, and the memoised status is dropped once the action is done. */
  async function act<T>(id: string, fn: () => Promise<T>): Promise<T> {
    await mustExist(id);
    try {
      return await fn();
    } finally {
      statuses.invalidate(id);
    }
  }

  app.post<{ Body: CreateCampaignInput }>(
    '/api/campaigns',
    {
      schema: {
        tags, summary: 'Create a campaign (draft, or scheduled with at/cron); send Idempotency-Key to retry safely after a timeout',
        headers: idempotencyHeaderSchema, body: createBody, response: errorResponses,
      },
    },
    async (req, reply) => {
      // A retry of a create that timed out made a second campaign (two scheduled ones send twice): see idempotency.ts.
      const answer = await idempotent<CreateCampaignResult>(container, req, { scope: 'campaign', status: 201 }, (beforeCommit) =>
        services.createCampaign(container, req.body, { beforeCommit }));
      auditNote(req, { target: answer.body.campaignId });
      if (answer.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(answer.status).send(answer.body);
    },
  );

  app.get<{ Querystring: { limit: number; cursor?: string; status?: string } }>(
    '/api/campaigns',
    {
      schema: {
        tags,
        summary: 'Campaigns, newest first, each with its message counts; pass `nextCursor` back as `cursor` for the next page',
        querystring: listQuery,
      },
    },
    async (req) => {
      const page = await listCampaigns(container, req.query, statusOf);
      // A pause reason may be the provider's answer (account- or campaign-fatal), quoting numbers: masked like phones.
      return { ...page, items: page.items.map((c) => ({ ...c, pauseReason: freeTextFor(req, c.pauseReason) })) };
    },
  );

  app.get<Params>(
    '/api/campaigns/:id',
    { schema: { tags, summary: 'One campaign with its status counts', params: idParams, response: errorResponses } },
    async (req) => {
      const row = await container.prisma.campaign.findUnique({
        where: { id: req.params.id },
        select: { ...CAMPAIGN_FIELDS, list: { select: { name: true, status: true, rejected: true, rejectReportPath: true } } },
      });
      if (!row) throw new NotFoundError(`campaign ${req.params.id} not found`);
      const { list, ...c } = row;
      const st = await statusOf(c.id, c.updatedAt);
      const listRejects = { rejected: list.rejected, url: rejectsUrl({ id: c.listId, rejectReportPath: list.rejectReportPath }) };
      // listStatus from the list row just read: the memo of the status (statusOf) does not change when the list is deleted.
      return { ...c, listName: list.name, listRejects, ...st, id: c.id, listStatus: list.status, pauseReason: freeTextFor(req, st.pauseReason) };
    },
  );

  app.post<Params & { Body: { force?: boolean } | undefined }>(
    '/api/campaigns/:id/start',
    {
      preValidation: emptyBodyAsObject,
      schema: {
        tags, summary: 'Start a draft or scheduled campaign now', params: idParams, response: errorResponses,
        body: { type: 'object', additionalProperties: false, properties: { force: { type: 'boolean' } } },
      },
    },
    async (req) => {
      const { id } = req.params;
      return act(id, () => services.startCampaign(container, id, { trigger: 'manual', force: req.body?.force ?? false }));
    },
  );

  app.post<Params & { Body: { reason?: string } | undefined }>(
    '/api/campaigns/:id/pause',
    {
      preValidation: emptyBodyAsObject,
      schema: {
        tags, summary: 'Pause sending', params: idParams, response: errorResponses,
        body: { type: 'object', additionalProperties: false, properties: { reason: { type: 'string', maxLength: 500 } } },
      },
    },
    async (req) => {
      const { id } = req.params;
      return act(id, () => services.pauseCampaign(container, id, req.body?.reason ?? 'paused via API'));
    },
  );

  for (const action of ['resume', 'cancel'] as const) {
    app.post<Params>(
      `/api/campaigns/:id/${action}`,
      {
        // No options: a body with any (a `reason`, as pause takes) is a 400, not silently ignored.
        preValidation: emptyBodyAsObject,
        schema: { tags, summary: `${action} the campaign`, params: idParams, response: errorResponses, body: { type: 'object', additionalProperties: false } },
      },
      async (req) => {
        const { id } = req.params;
        const fn = action === 'resume' ? services.resumeCampaign : services.cancelCampaign;
        return act(id, () => fn(container, id));
      },
    );
  }

  app.post<Params & { Body: { includeUnknown?: boolean; run?: number } | undefined }>(
    '/api/campaigns/:id/retry',
    {
      preValidation: emptyBodyAsObject,
      schema: {
        tags, summary: 'Re-queue retryable failures (and `unknown` ones with includeUnknown), of every run or of run `run`; send Idempotency-Key to retry the call safely',
        params: idParams, response: errorResponses, headers: idempotencyHeaderSchema,
        body: {
          type: 'object', additionalProperties: false,
          properties: { includeUnknown: { type: 'boolean', default: false }, run: runQuerySchema },
        },
      },
    },
    async (req, reply) => {
      const { id } = req.params;
      const includeUnknown = req.body?.includeUnknown ?? false;
      // A second call re-queues whatever failed again since the first (those messages then go out a third time):
      // a retry of this call after a timeout, with its Idempotency-Key, replays the first answer instead.
      const answer = await idempotent(container, req, { scope: `retry:${id}`, status: 200 }, (beforeCommit) =>
        act(id, async () => {
          // A run the campaign does not have is a 404, as on the routes that show one run (never every run instead).
          const runId = await runIdOf(container.pg, id, req.body?.run);
          return services.retryCampaign(container, id, { includeUnknown, beforeCommit, ...(runId ? { runId } : {}) });
        }));
      if (answer.replayed) reply.header('idempotent-replayed', 'true');
      return reply.status(answer.status).send(answer.body);
    },
  );

  app.get<Params & { Querystring: { run?: number } }>(
    '/api/campaigns/:id/failure-reasons',
    {
      schema: {
        tags, summary: 'Failed and unknown messages grouped by reason (of one run with `run`)', params: idParams,
        // A misspelt `run` (Run=2) silently widened the answer to every run: unknown parameters are a 400.
        querystring: { type: 'object', additionalProperties: false, properties: { run: runQuerySchema } }, response: errorResponses,
      },
    },
    async (req) => {
      await mustExist(req.params.id);
      const scope = messagesOf(req.params.id, await runIdOf(container.pg, req.params.id, req.query.run));
      // all_messages: every failed and unknown message, also those of the reasons past the limit.
      const { rows } = await container.pg.query<{ status: string; outcome_class: string | null; reason: string; count: string; all_messages: string }>(
        `SELECT status, outcome_class, ${REASON_WITHOUT_RECIPIENT} AS reason, count(*) AS count, sum(count(*)) OVER () AS all_messages
           FROM messages WHERE ${scope.where} AND status IN ('failed', 'unknown')
          GROUP BY 1, 2, 3 ORDER BY count(*) DESC, 3 LIMIT 100`,
        scope.params,
      );
      // Reasons quote the provider's texts, masked like phones for this caller; two that differed only in a masked
      // number become one row (the counts added), or the list would show the same reason twice.
      const items = new Map<string, { status: string; outcomeClass: string | null; reason: string; count: number }>();
      for (const r of rows) {
        const reason = freeTextFor(req, r.reason);
        const key = JSON.stringify([r.status, r.outcome_class, reason]);
        const seen = items.get(key);
        if (seen) seen.count += Number(r.count);
        else items.set(key, { status: r.status, outcomeClass: r.outcome_class, reason, count: Number(r.count) });
      }
      // Past the limit the rest were dropped without a word, and the reasons shown added up to fewer than `failed`.
      const shown = rows.reduce((n, r) => n + Number(r.count), 0);
      const omittedMessages = rows[0] ? Number(rows[0].all_messages) - shown : 0;
      return { items: [...items.values()].sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0)), omittedMessages };
    },
  );
}
