/**
 * The one place where errors become HTTP answers: AppError codes map to their httpStatus, fastify schema
 * failures become 400 naming the field, multipart limits 413. Anything else is a 500 whose detail is logged,
 * not sent (it may carry internals).
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ValidationError } from '../errors';

export interface ErrorBody {
  error: { code: string; message: string; field?: string; overridableBy?: string };
}

export function registerErrorHandler(app: FastifyInstance): void {
  // Any answer sent before the request's body was all in (a GET /health carrying a body fastify never reads, a refusal
  // before the body) closes the connection: kept open, it went on reading whatever the client still trickled, for as
  // long as the client liked — there is no request timeout (uploads may take long), and /health needs no token.
  app.addHook('onSend', async (req, reply) => {
    if (!req.raw.complete) reply.header('connection', 'close');
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const { status, body } = toHttp(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: body.error.code, status }, body.error.message);
    // Do not read the rest of an oversize or stalled upload: close the connection once the answer is out (a body
    // refused before it was all in is closed by the onSend hook above).
    if (status === 413 || status === 408) reply.header('connection', 'close');
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => answerNoRoute(app, req, reply));
}

/**
 * The path is echoed with the webhook's secret segment masked: a `GET` of the webhook URL, or a callback URL
 * configured with an extra segment, answered with the secret in the body — which the provider's callback log and
 * any proxy logging answers then keep.
 */
function noRoute(req: FastifyRequest): ErrorBody {
  return { error: { code: 'not_found', message: `no route ${req.method} ${shownPath(req)}` } };
}

function shownPath(req: FastifyRequest): string {
  return req.url.split('?', 1)[0]!.replace(WEBHOOK_SECRET_SEGMENT, '$1[REDACTED]');
}

/** Every method a route can have (fastify adds HEAD to each GET route itself). */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The methods routed for this request's path (as the router reads it: decoded, without the query); none: no route. */
export function allowedMethods(app: FastifyInstance, url: string): string[] {
  return METHODS.filter((method) => app.findRoute({ method, url }) !== null);
}

/**
 * A request the router matched to no route: 405 Method Not Allowed with `Allow` when its path has routes for other
 * methods (`PUT /api/campaigns`), as HTTP says; 404 only for a path that is no route at all. The 404 said "no route"
 * for a path the client had spelt right, sending it looking for a typo. Sent after the authentication hook: a
 * request without a token still gets its 401 first, and the methods named are the API's (its document at /docs is
 * public), not the ones the caller's role may use.
 */
function answerNoRoute(app: FastifyInstance, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const allowed = allowedMethods(app, req.url);
  if (allowed.length === 0) return reply.status(404).send(noRoute(req));
  const message = `${req.method} is not allowed on ${shownPath(req)}: it takes ${allowed.join(', ')}`;
  return reply.status(405).header('allow', allowed.join(', ')).send({ error: { code: 'method_not_allowed', message } });
}

/**
 * The whole segment after /webhooks/dlr/ (a secret may hold `'`, where the logger's pattern stops), with any slashes
 * doubled (a callback URL pasted together from a base ending in '/': `/webhooks/dlr//<secret>` is no route, and
 * its 404 quoted the secret).
 */
const WEBHOOK_SECRET_SEGMENT = /(\/webhooks\/+dlr\/+)[^/]+/gi;

/**
 * A request for no route is answered 404 (or 405: answerNoRoute) before its body is read (fastify's not-found handler reads it first, up to
 * the body limit; the onSend hook above then closes the connection): a client without any token trickling the body it
 * announced held its connection for good. Register
 * it after the authentication hooks, so an unknown path under a protected prefix still needs a token first.
 */
export function registerEarlyNotFound(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    if (req.routeOptions.url !== undefined) return;
    return answerNoRoute(app, req, reply);
  });
}

/**
 * Errors the router answers before any route, hook or error handler runs (a malformed %-escape, a path segment over
 * 100 characters): in the API's error shape too, and without echoing the path, which may be the webhook's secret.
 */
export function frameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const { status, body } =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? { status: 414, body: { error: { code: 'uri_too_long', message: 'a path segment of the URL is longer than 100 characters' } } }
      : err.code === 'FST_ERR_BAD_URL'
        ? { status: 400, body: { error: { code: 'bad_url', message: 'the URL is not valid (a malformed %-escape)' } } }
        : toHttp(err);
  void reply.status(status).send(body);
}

export function toHttp(err: FastifyError): { status: number; body: ErrorBody } {
  if (err.validation && err.validation.length > 0) {
    const first = err.validation[0]!;
    const params = first.params as { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[] } | undefined;
    const path = first.instancePath.replace(/^\//, '').replace(/\//g, '.');
    // A failure of the whole input ("body must be object": an array or a string posted) names that input, so every
    // validation answer carries a field as the document says.
    const field = params?.missingProperty ?? params?.additionalProperty ?? (path || err.validationContext || undefined);
    const named = field && !err.message.includes(field) ? `${err.message}: "${field}"` : err.message;
    // An enum's refusal ("body/type must be equal to one of the allowed values") did not say which they are.
    const allowed = Array.isArray(params?.allowedValues) ? ` (one of ${params.allowedValues.map(String).join(', ')})` : '';
    const message = `${named}${allowed}`;
    return { status: 400, body: { error: { code: 'validation', message, ...(field ? { field } : {}) } } };
  }
  if (err instanceof AppError) {
    // Shared code names inputs by their id, which is the API's field name: `message` and `field` are already
    // the caller's names (`packSize`, not the CLI's `--pack`).
    const field = err instanceof ValidationError ? err.field : undefined;
    const { overridableBy } = err;
    return {
      status: err.httpStatus,
      body: { error: { code: err.code, message: err.message, ...(field ? { field } : {}), ...(overridableBy ? { overridableBy } : {}) } },
    };
  }
  if (err.code === 'FST_REQ_FILE_TOO_LARGE' || err.statusCode === 413) {
    return { status: 413, body: { error: { code: 'payload_too_large', message: err.message } } };
  }
  const status = err.statusCode;
  if (status && status >= 400 && status < 500) {
    // fastify's own codes (FST_ERR_CTP_INVALID_JSON_BODY, …) are its internals and change between its versions: the
    // API answers its stable codes, and a body that is not JSON is a 400 naming `body` like any other bad input.
    if (err.code && FASTIFY_BODY_ERRORS.has(err.code)) {
      return { status: 400, body: { error: { code: 'validation', message: `body: ${err.message}`, field: 'body' } } };
    }
    const code = err.code?.startsWith('FST_') ? (STABLE_CODES[status] ?? 'bad_request') : (err.code ?? 'bad_request');
    return { status, body: { error: { code, message: err.message } } };
  }
  return { status: 500, body: { error: { code: 'internal', message: 'internal error (see server log)' } } };
}

/** fastify's refusals of a JSON body it could not parse. */
const FASTIFY_BODY_ERRORS = new Set(['FST_ERR_CTP_INVALID_JSON_BODY', 'FST_ERR_CTP_EMPTY_JSON_BODY']);

/** The API's code for a client error fastify raised itself, by status. */
const STABLE_CODES: Record<number, string> = {
  400: 'bad_request',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  415: 'unsupported_media_type',
};
