/** Shared JSON schemas (also published in the OpenAPI document at /docs). */
export const errorBody = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        field: { type: 'string' },
        // The body field that, set on the same request, gets past this refusal (`force` on a start refused over credits).
        overridableBy: { type: 'string' },
      },
      required: ['code', 'message'],
    },
  },
} as const;

const anyObject = { type: 'object', additionalProperties: true } as const;

/** Error shapes for the OpenAPI document; success bodies are documented per route summary. */
export const errorResponses = {
  200: anyObject,
  201: anyObject,
  400: errorBody,
  401: errorBody,
  404: errorBody,
} as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid' } },
} as const;

export const MESSAGE_STATUS_ENUM = [
  'pending', 'queued', 'sending', 'sent', 'delivered', 'failed', 'unknown', 'suppressed', 'cancelled',
] as const;

export const OUTCOME_CLASS_ENUM = [
  'accepted', 'permanent_recipient', 'permanent_campaign', 'account_fatal', 'retryable', 'ambiguous',
] as const;

/** For routes whose JSON body is optional (lifecycle actions, a DELETE's fields): validate a missing one as `{}`. */
export async function emptyBodyAsObject(req: { body: unknown }): Promise<void> {
  if (req.body === undefined || req.body === null) req.body = {};
}
