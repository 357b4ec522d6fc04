/**
 * What each operation answers, as the OpenAPI document at /docs/json states it: its one success status and every
 * error status the server really returns for it (all in the error shape of schemas.ts). Routes declared
 * `response: errorResponses`, which documented 200 *and* 201 on every operation (a GET "201") and none of 403
 * (roles), 409 (lifecycle conflicts), 413 (body limit), 429 or 503; the list and OTP routes documented no error at
 * all. The swagger transform (server.ts) applies this table, and a test checks real answers against the document.
 */
import { CAMPAIGN_STATUSES } from '../campaign/campaign-listing';
import { MESSAGE_STATUS_ENUM, OUTCOME_CLASS_ENUM, errorBody } from './routes/schemas';

/**
 * Success bodies as the document shows them (fastify does not serialise with these: a field added to an answer
 * cannot be dropped by a stale schema). Objects stay open (`additionalProperties`), so a new field is not a break.
 */
const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const nullableStr = { type: 'string', nullable: true } as const;
const timeOrNull = { type: 'string', format: 'date-time', nullable: true } as const;
const uuid = { type: 'string', format: 'uuid' } as const;
const obj = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({ type: 'object', additionalProperties: true, required, properties });
const counts = obj(Object.fromEntries(MESSAGE_STATUS_ENUM.map((s) => [s, int])));
const nextCursor = { type: 'string', nullable: true, description: 'pass back as `cursor` with the same filters for the next page; null on the last' };
const campaignStatus = { type: 'string', enum: CAMPAIGN_STATUSES };
const LIST_STATUSES = ['importing', 'ready', 'failed', 'deleting', 'deleted'];
const listStatus = { type: 'string', enum: LIST_STATUSES, description: 'the campaign\'s contact list: `deleted` once it was deleted (the campaign\'s history stays)' };
const action = obj({ campaignId: uuid, status: campaignStatus });
const nullableInt = { type: 'integer', nullable: true } as const;
const time = { type: 'string', format: 'date-time' } as const;
/** Every campaign answer's own fields (the list's and the campaign page's): the dashboard reads each of them. */
const campaignFields = {
  id: uuid, name: str, type: { type: 'string', enum: ['transactional', 'promotional'] }, sender: str, status: campaignStatus,
  pauseReason: nullableStr,
  alert: { ...nullableStr, description: 'what needs the operator (DLT rejections, a scheduled run that did not start); null when nothing does' },
  listId: uuid, listName: str, listStatus,
  text: { ...nullableStr, description: 'the free text as created; null for a template campaign' },
  templateName: { ...nullableStr, description: 'the DLT template; null for a free-text campaign' },
  scheduleAt: timeOrNull, cron: nullableStr, timezone: str,
  encoding: { type: 'string', enum: ['GSM-7', 'UCS-2'], nullable: true }, segmentsMax: nullableInt, credits: nullableInt,
  regulated: { type: 'boolean', description: 'its messages are kept RETENTION_REGULATED_DAYS before archiving (banking), not RETENTION_DAYS' },
  createdAt: time, updatedAt: time, startedAt: timeOrNull, completedAt: timeOrNull, total: int, counts,
};
const campaignSummary = obj({
  ...campaignFields,
  run: {
    ...obj({ runNumber: int, runCount: int, startedAt: timeOrNull }),
    nullable: true,
    description: 'the run `counts` are of (the latest) and how many there are; null before the first start',
  },
});
const campaignDetail = obj({
  ...campaignFields,
  campaignId: { ...uuid, description: 'the same as `id` (the name `campaign status --json` gives it)' },
  listRejects: obj({
    rejected: { type: 'integer', description: "rows the list's import rejected" },
    url: { ...nullableStr, description: "the import's row report (GET /api/lists/{id}/rejects.csv); null when nothing was rejected" },
  }),
  runs: {
    type: 'array',
    description: 'every run, oldest first, each with its own counts',
    items: obj({
      runId: uuid, runNumber: int, trigger: str, status: str, total: int, ...Object.fromEntries(MESSAGE_STATUS_ENUM.map((st) => [st, int])),
      startedAt: timeOrNull, completedAt: timeOrNull,
    }),
  },
});
const listFields = {
  id: uuid, name: str, status: { type: 'string', enum: LIST_STATUSES }, failureReason: nullableStr, country: str, rows: int,
  accepted: int, rejected: int, duplicates: int, suppressed: int, rejectReportUrl: nullableStr,
};
// The index's items have the detail's fields too (the same rows): documented once, for both.
const listDetail = obj({
  ...listFields, sourceFile: nullableStr, phoneColumn: nullableStr,
  columns: { type: 'array', items: str, description: 'variables of every contact, each usable as {{column}} (and {{phone}}, the recipient\'s number, unless one is called phone)' },
  createdAt: time, completedAt: timeOrNull,
});
const listSummary = listDetail;
const message = obj({
  id: { type: 'string', pattern: '^[0-9]+$' }, runId: uuid, phone: str, status: { type: 'string', enum: MESSAGE_STATUS_ENUM }, attempts: int,
  segments: int, sessionId: nullableStr, outcomeClass: { type: 'string', enum: [...OUTCOME_CLASS_ENUM, null], nullable: true }, providerText: nullableStr,
  failureReason: nullableStr, queuedAt: timeOrNull, sentAt: timeOrNull, deliveredAt: timeOrNull, failedAt: timeOrNull,
  updatedAt: { type: 'string', format: 'date-time' },
});
const csv = { type: 'string', description: 'CSV (text/csv), streamed' };

const SUCCESS_BODIES: Readonly<Record<string, unknown>> = {
  'POST /api/lists': obj({ listId: uuid, rows: int, accepted: int, rejected: int, duplicates: int, suppressed: int, rejectReportUrl: nullableStr }),
  'GET /api/lists': obj({ items: { type: 'array', items: listSummary }, nextCursor }),
  'GET /api/lists/:id': listDetail,
  'GET /api/lists/:id/rejects.csv': csv,
  'DELETE /api/lists/:id': obj({
    listId: uuid, name: str, contactsRemoved: int,
    campaigns: { type: 'integer', description: 'finished campaigns that still name the list: its row stays, `deleted`, for their pages' },
    outcome: { type: 'string', enum: ['deleted', 'removed'], description: '`removed`: no campaign named the list, its row is gone too' },
    resumed: { type: 'boolean', description: 'an earlier delete of the list had been cut short; this one finished it' },
  }),
  'POST /api/campaigns': obj({
    campaignId: uuid, status: { type: 'string', enum: ['draft', 'scheduled'] }, recipients: int, encoding: str,
    segments: { type: 'integer', description: 'the most any one message takes (= segmentsMax)' },
    segmentsMin: { type: 'integer', description: 'the fewest any one message takes' }, segmentsMax: int,
    credits: int, scheduleAt: timeOrNull, cron: nullableStr, warnings: { type: 'array', items: str },
    regulated: { type: 'boolean', description: 'its messages are kept RETENTION_REGULATED_DAYS before archiving (banking), not RETENTION_DAYS' },
  }),
  'GET /api/campaigns': obj({ items: { type: 'array', items: campaignSummary }, nextCursor }),
  'GET /api/campaigns/:id': campaignDetail,
  'POST /api/campaigns/:id/start': obj({ campaignId: uuid, runId: uuid, status: campaignStatus }),
  'POST /api/campaigns/:id/pause': action,
  'POST /api/campaigns/:id/resume': action,
  'POST /api/campaigns/:id/cancel': action,
  'POST /api/campaigns/:id/retry': obj({
    campaignId: uuid, requeued: int, status: campaignStatus, archiving: int,
    notRetried: {
      ...obj({ failed: int, unknown: int }),
      description: 'left as they were in the runs retried: `failed` ones a retry never sends again (refused for their recipient, failed by a delivery report, a missing variable); `unknown` ones without includeUnknown',
    },
  }),
  'GET /api/campaigns/:id/failure-reasons': obj({
    items: { type: 'array', items: obj({ status: str, outcomeClass: { type: 'string', nullable: true }, reason: str, count: int }), description: 'the 100 most frequent reasons' },
    omittedMessages: { type: 'integer', description: 'failed and unknown messages of the reasons past those 100 (0 when every reason is listed); failures.csv has every one' },
  }),
  'GET /api/campaigns/:id/messages': obj({ items: { type: 'array', items: message }, nextCursor }),
  'GET /api/campaigns/:id/failures.csv': csv,
  'POST /api/suppressions': obj({ added: { type: 'integer', minimum: 0, maximum: 1, description: '0: the number was already suppressed' } }),
  'GET /api/suppressions/:phone': obj({
    phone: { type: 'string', description: 'the number as read (E.164), masked unless an owner holds an OTP grant' },
    suppressed: { type: 'boolean' },
    reason: { ...nullableStr, description: 'why it was suppressed; null when not suppressed or none was given' },
    source: { ...nullableStr, description: '`cli`, `api`, `manual` or `file:<name>`; null when not suppressed' },
    since: { ...timeOrNull, description: 'when it was suppressed; null when not suppressed' },
  }),
  'DELETE /api/suppressions/:phone': obj({
    phone: { type: 'string', description: 'the number as read (E.164), masked as elsewhere' },
    removed: { type: 'integer', minimum: 0, maximum: 1, description: '0: the number was not suppressed' },
  }),
  'POST /webhooks/dlr/:secret': obj({ ok: { type: 'boolean' }, result: {} }),
  'GET /api/access/me': obj({
    role: { type: 'string', enum: ['owner', 'operator', 'viewer'] }, phonesMasked: { type: 'boolean' },
    otp: obj({ available: { type: 'boolean' }, grantedUntil: timeOrNull }),
  }),
  'POST /api/access/otp': obj({ challengeId: uuid, sentTo: { type: 'string', description: "the token's phone, masked" } }),
  'POST /api/access/otp/verify': obj({ challengeId: uuid, expiresAt: { type: 'string', format: 'date-time' } }),
  'GET /health': obj({ status: { type: 'string', enum: ['ok', 'degraded', 'down'] }, checks: { type: 'object', additionalProperties: true } }),
};

type ErrorStatus = 400 | 401 | 403 | 404 | 408 | 409 | 413 | 415 | 429 | 503;

interface RouteResponses {
  success: 200 | 201;
  errors: readonly ErrorStatus[];
  /** Request bodies a route reads itself (multipart, zod), documented here because fastify does not validate them. */
  docBody?: Record<string, unknown>;
  /** The body may be left out (read as `{}`): fastify-swagger marks every body required. */
  optionalBody?: true;
}

/** Any route under a protected prefix: a bad query or path parameter (400), no or a bad token (401), a role or IP refusal (403). */
const GUARDED = [400, 401, 403] as const;
/** A POST's JSON or form body over fastify's bodyLimit (1 MiB) is a 413; one of another media type a 415. */
const WITH_BODY = [...GUARDED, 413, 415] as const;
const LIFECYCLE = [...WITH_BODY, 404, 409] as const;

export const ROUTE_RESPONSES: Readonly<Record<string, RouteResponses>> = {
  'POST /api/lists': {
    success: 201,
    // 408 a stalled upload, 409 a list name in use, 413 the file size limit, 429 too many imports at once, 503 shutting down.
    errors: [...WITH_BODY, 408, 409, 429, 503],
    docBody: {
      type: 'object',
      required: ['name', 'file'],
      properties: {
        name: { type: 'string', maxLength: 200, description: 'list name (before `file`)' },
        phoneColumn: { type: 'string', description: 'header of the phone column (before `file`); default: detected' },
        country: { type: 'string', pattern: '^[A-Za-z]{2}$', description: 'default country of numbers without +CC (before `file`); default IN' },
        file: { type: 'string', format: 'binary', description: 'the CSV, last part' },
      },
    },
  },
  'GET /api/lists': { success: 200, errors: GUARDED },
  'GET /api/lists/:id': { success: 200, errors: [...GUARDED, 404] },
  'GET /api/lists/:id/rejects.csv': { success: 200, errors: [...GUARDED, 404] },
  // 404 an unknown (or already deleted) list; 409 importing, used by a campaign not finished, or being deleted by another
  // request; 503 its reject report could not be removed (the list stays `deleting`).
  'DELETE /api/lists/:id': { success: 200, errors: [...GUARDED, 404, 409, 503] },
  // 404 an unknown list, 409 a list not ready.
  'POST /api/campaigns': { success: 201, errors: [...WITH_BODY, 404, 409] },
  'GET /api/campaigns': { success: 200, errors: GUARDED },
  'GET /api/campaigns/:id': { success: 200, errors: [...GUARDED, 404] },
  // 503: the balance could not be checked (pass force: true to start without the check).
  'POST /api/campaigns/:id/start': { success: 200, errors: [...LIFECYCLE, 503], optionalBody: true },
  'POST /api/campaigns/:id/pause': { success: 200, errors: LIFECYCLE, optionalBody: true },
  'POST /api/campaigns/:id/resume': { success: 200, errors: LIFECYCLE, optionalBody: true },
  'POST /api/campaigns/:id/cancel': { success: 200, errors: LIFECYCLE, optionalBody: true },
  'POST /api/campaigns/:id/retry': { success: 200, errors: LIFECYCLE, optionalBody: true },
  'GET /api/campaigns/:id/failure-reasons': { success: 200, errors: [...GUARDED, 404] },
  // 429: too many look-ups of phone numbers by a caller who sees them masked.
  'GET /api/campaigns/:id/messages': { success: 200, errors: [...GUARDED, 404, 429] },
  'GET /api/campaigns/:id/failures.csv': { success: 200, errors: [...GUARDED, 404] },
  // 404 the webhook disabled (no WEBHOOK_SECRET), 401 a wrong secret.
  'POST /webhooks/dlr/:secret': { success: 200, errors: [400, 401, 404, 413, 415] },
  'POST /api/suppressions': { success: 200, errors: WITH_BODY },
  // 429: too many different numbers looked up by a caller who sees them masked (shared with the messages' phone=).
  'GET /api/suppressions/:phone': { success: 200, errors: [...GUARDED, 429] },
  // It takes no body, but one sent anyway is read: 413 over the limit, 415 of another media type.
  'DELETE /api/suppressions/:phone': { success: 200, errors: WITH_BODY, optionalBody: true },
  'GET /api/access/me': { success: 200, errors: [401, 403] },
  'POST /api/access/otp': { success: 200, errors: [...WITH_BODY, 429, 503] },
  'POST /api/access/otp/verify': {
    success: 200,
    // 503: the server has no 2Factor key (the OTP cannot be checked).
    errors: [...WITH_BODY, 429, 503],
    docBody: {
      type: 'object',
      required: ['challengeId', 'otp'],
      properties: { challengeId: { type: 'string', format: 'uuid' }, otp: { type: 'string', pattern: '^[0-9]{4,8}$' } },
    },
  },
  // 503: PostgreSQL or Redis down (the body says which); the same body shape as the 200.
  'GET /health': { success: 200, errors: [] },
  'GET /metrics': { success: 200, errors: [401, 403] },
};

const ERROR_TEXT: Record<ErrorStatus, string> = {
  400: 'invalid input; `field` names it as this document does',
  401: 'missing or invalid bearer token',
  403: "the token's role may not do this, or the client's address is not allowed",
  404: 'no such resource',
  408: 'the request body stalled',
  409: "conflicts with the resource's current state",
  413: 'request body too large',
  415: 'request body of a media type the operation does not take (JSON or form fields; multipart for uploads)',
  429: 'too many requests of this kind; retry later',
  503: 'a dependency (provider, database) is unavailable; retry later',
};

/**
 * The route's schema as the document shows it: its `response` replaced by the table's statuses and bodies. A route
 * missing from the table is documented as declared.
 */
export function documentedSchema(method: string, url: string, schema: Record<string, unknown>): Record<string, unknown> {
  const entry = ROUTE_RESPONSES[`${method} ${url}`];
  if (!entry) return schema;
  const success = SUCCESS_BODIES[`${method} ${url}`] ?? { type: 'object', additionalProperties: true };
  const response: Record<string, unknown> = { [entry.success]: success };
  if (url === '/health') response[503] = { ...(success as object), description: 'PostgreSQL or Redis is down' };
  for (const status of entry.errors) response[status] = { ...errorBody, description: ERROR_TEXT[status] };
  // Anything else is the server's fault (500, code `internal`; the detail is only in its log), in the same shape.
  response[500] = { ...errorBody, description: 'unexpected server error (code `internal`); the detail is in the server log' };
  return { ...schema, response, ...(entry.docBody ? { body: entry.docBody } : {}) };
}

/**
 * The finished document: a lifecycle action's body is optional (the routes read a missing one as `{}`), but
 * fastify-swagger marks every body required, so a client generated from it always had to send one.
 */
export function markOptionalBodies<T extends { paths?: object }>(doc: T): T {
  for (const [path, ops] of Object.entries(doc.paths ?? {}) as [string, Record<string, { requestBody?: { required?: boolean } } | undefined>][]) {
    for (const [method, op] of Object.entries(ops ?? {})) {
      const key = `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`;
      if (ROUTE_RESPONSES[key]?.optionalBody && op?.requestBody) op.requestBody.required = false;
    }
  }
  return doc;
}
