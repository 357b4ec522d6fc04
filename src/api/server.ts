/**
 * The HTTP API, dashboard, webhook, /health, /metrics and OpenAPI docs as one fastify instance.
 * `buildServer` never listens: `bulksms serve` does, tests listen on port 0 or use inject().
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { API_ROUTE_ACCESS } from '../access/api-routes';
import { deniedAccessRecorder } from '../access/denied-audit';
import { parseAllowList } from '../access/ip-allow';
import { installRoutePermissions } from '../access/fastify-access';
import { registerOtpRoutes } from '../access/fastify-otp-routes';
import type { OtpSender } from '../access/otp';
import { dbTokenVerifier, revokedTokenId } from '../access/tokens';
import { accountSlots, inSlot } from '../delivery/paced-slot';
import { createTwoFactorProviderFromConfig } from '../provider/twofactor/client';
import { isProtectedPath, registerAuth, staticTokenVerifier, type TokenVerifier } from './auth';
import type { ApiDeps } from './deps';
import { registerDashboard } from './dashboard';
import { documentedSchema, markOptionalBodies } from './route-responses';
import { MAX_NESTING, registerNulGuard } from './reject-nul';
import { frameworkError, registerEarlyNotFound, registerErrorHandler } from './error-handler';
import { mountBullBoard, openQueues } from './queues';
import { registerAccessInfoRoute } from './routes/access';
import { registerCampaignRoutes } from './routes/campaigns';
import { registerListRoutes } from './routes/lists';
import { registerListRejectRoutes } from './routes/list-rejects';
import { DEFAULT_UPLOAD_IDLE_MS } from './upload-stream';
import { clientError, headTimeoutOptions, registerBodyTimeout } from './request-timeouts';
import { registerMessageRoutes } from './routes/messages';
import { registerOpsRoutes } from './routes/ops';
import { registerSuppressionRoutes } from './routes/suppressions';
import { registerWebhookRoutes } from './routes/webhooks';

export const DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024;
/** fastify's default bodyLimit, stated so the OpenAPI document can say it. */
const BODY_LIMIT_BYTES = 1024 * 1024;

/** Everything under these prefixes needs a principal (see auth.ts); /health, /docs, the dashboard shell and the webhook do not. */
const PROTECTED_PREFIXES = ['/api', '/metrics', '/queues'];

/** fastify's trustProxy: false when no proxy is named, else a test of each hop against API_TRUST_PROXY's rules. */
function trustedProxies(spec: string | undefined): false | ((address: string, hop: number) => boolean) {
  const proxies = parseAllowList(spec, 'API_TRUST_PROXY');
  return proxies.rules.length === 0 ? false : (address) => proxies.allows(address);
}

export async function buildServer(deps: ApiDeps): Promise<FastifyInstance> {
  const { container } = deps;
  const maxUploadBytes = deps.options?.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const uploadIdleMs = deps.options?.uploadIdleMs ?? DEFAULT_UPLOAD_IDLE_MS;
  const app = Fastify({
    loggerInstance: container.logger.child({ component: 'api' }) as FastifyBaseLogger,
    // Per-request lines would be mostly the dashboard's polling; errors are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Only the proxies named in API_TRUST_PROXY may say who the client is (req.ip then walks X-Forwarded-For back past
    // them); anyone else's X-Forwarded-For is ignored, or a client could name an allowed address itself.
    trustProxy: trustedProxies(container.config.API_TRUST_PROXY),
    bodyLimit: BODY_LIMIT_BYTES,
    // Slow or stalled clients are cut off (request-timeouts.ts); fastify's requestTimeout stays 0, which would cut
    // slow CSV uploads too.
    http: headTimeoutOptions(container.config.API_HEADERS_TIMEOUT_MS),
    frameworkErrors: frameworkError,
    clientErrorHandler: clientError,
    // Reject unknown properties (400 naming them) instead of silently dropping them.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  });

  registerErrorHandler(app);
  // fastify parses text/plain by default, into a string no route takes: a lifecycle call posted as text/plain got a
  // 400 "body must be object" while every other media type the API does not take got the documented 415.
  app.removeContentTypeParser('text/plain');
  // Every answer, errors and /docs included: no browser guesses a JSON or CSV body is HTML, and no other site frames
  // the API's pages (the dashboard's own CSP says frame-ancestors 'none' too).
  // Closing waits for every open connection, and one whose request was under way when it began stayed open after its
  // answer, kept alive for the client's next request (72 s, past serve's 30 s shutdown deadline: exit 1). An answer
  // given while closing says `Connection: close`, so its connection ends with it.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    if (closing) reply.header('connection', 'close');
  });
  registerBodyTimeout(app, container.config.API_BODY_TIMEOUT_MS);
  registerNulGuard(app);
  const verifiers: TokenVerifier[] = [
    ...(container.config.API_TOKEN ? [staticTokenVerifier(container.config.API_TOKEN)] : []),
    dbTokenVerifier(container),
  ];
  // Every refusal (401, 403) of both hooks below is audited as access.denied, rate-limited per address and reason.
  const deniedAudit = deniedAccessRecorder(container);
  app.addHook('onClose', () => deniedAudit.close());
  registerAuth(app, {
    verifiers,
    loopbackWithoutToken: !container.config.API_TOKEN,
    protectedPrefixes: PROTECTED_PREFIXES,
    cookiePrefixes: ['/queues'],
    allowIp: parseAllowList(container.config.API_ALLOW_IPS),
    deniedAudit,
    identifyToken: (token) => revokedTokenId(container, token),
  });
  // Roles: route levels from API_ROUTE_ACCESS (unlisted protected routes, e.g. bull-board, are owner-only),
  // phone masking, OTP grants and the audit log (src/access).
  installRoutePermissions(app, { deps: container, principalOf: (req) => req.principal, routes: API_ROUTE_ACCESS, deniedAudit });
  registerEarlyNotFound(app);

  await app.register(formbody);
  await app.register(multipart, {
    limits: { fileSize: maxUploadBytes, files: 1, fields: 20, fieldSize: 64 * 1024 },
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'bulksms API',
        version: '0.1.0',
        // The limits an integrator otherwise learns from a refusal; each is enforced where it says.
        description: [
          'Bulk-SMS campaigns for 2Factor.',
          `Limits: a JSON or form request body at most ${BODY_LIMIT_BYTES} bytes (413); JSON nested at most ${MAX_NESTING} levels (400);`,
          `a CSV upload at most ${maxUploadBytes} bytes (413); page sizes as each \`limit\` parameter states.`,
          `Time: a request's headers within ${container.config.API_HEADERS_TIMEOUT_MS / 1000} s of its first byte, a JSON or form body within`,
          `${container.config.API_BODY_TIMEOUT_MS / 1000} s of them (408, connection closed); a CSV upload's fields too, but its file as long as it keeps coming (408 after ${Math.round(uploadIdleMs / 1000)} s without a byte).`,
          'Errors: `{"error": {"code", "message", "field"?}}`; `field` names the input as this document does.',
        ].join(' '),
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // The document-wide bearer requirement is inherited by every operation; the public ones (/health, the webhook)
    // say they take none, from the same prefixes the auth hook checks, so the document cannot drift from the server.
    transformObject: (doc) => ('openapiObject' in doc ? markOptionalBodies(doc.openapiObject) : doc.swaggerObject),
    // Each operation's statuses come from one table (route-responses.ts): the ones the server really answers.
    transform: ({ schema, url, route }) => {
      const method = Array.isArray(route.method) ? String(route.method[0]) : String(route.method);
      const shown = documentedSchema(method.toUpperCase(), url, (schema ?? {}) as Record<string, unknown>);
      return { schema: isProtectedPath(PROTECTED_PREFIXES, url) ? shown : { ...shown, security: [] }, url };
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  registerListRoutes(app, deps, {
    maxBytes: maxUploadBytes,
    idleMs: uploadIdleMs,
    fieldsTimeoutMs: container.config.API_BODY_TIMEOUT_MS,
    maxConcurrent: deps.options?.maxConcurrentImports ?? 4,
  });
  registerListRejectRoutes(app, deps);
  registerCampaignRoutes(app, deps);
  registerMessageRoutes(app, deps);
  registerSuppressionRoutes(app, deps);
  registerWebhookRoutes(app, deps, { deniedAudit });
  registerAccessInfoRoute(app, deps, { otpConfigured: Boolean(container.config.TWOFACTOR_API_KEY) });
  // Every call this process makes to 2Factor (OTP, the health probe's balance) takes a slot of the account-wide
  // request budget first, like the workers' sends: the provider counts them against the same limit (an OTP asked
  // for while a campaign ran at the limit was one request too many in that second, and was refused).
  const acquireSlot = accountSlots(container);
  if (container.config.TWOFACTOR_API_KEY) {
    // The second factor for unmasked message data: SMS OTP through 2Factor's OTP API.
    const otpClient = createTwoFactorProviderFromConfig(container, { connections: 2 });
    app.addHook('onClose', () => otpClient.close());
    const otp: OtpSender = {
      sendOtp: (phone, template) => inSlot(acquireSlot, (onWrite) => otpClient.sendOtp(phone, template, undefined, onWrite)),
      verifyOtp: (session, code) => inSlot(acquireSlot, (onWrite) => otpClient.verifyOtp(session, code, undefined, onWrite)),
    };
    registerOtpRoutes(app, { prisma: container.prisma, config: container.config, otp }, { deniedAudit });
  } else {
    registerOtpRoutes(app, null, { deniedAudit });
  }

  const queues = openQueues(container, deps.options?.queueNames ?? []);
  app.addHook('onClose', async () => {
    await Promise.all(queues.map((q) => q.close()));
  });
  registerOpsRoutes(app, deps, queues, acquireSlot);
  if (deps.options?.dashboard ?? true) {
    registerDashboard(app);
    await mountBullBoard(app, queues);
  }
  return app;
}
