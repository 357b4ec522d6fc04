/**
 * Access level and audit action of every HTTP API route, keyed `METHOD /route/:pattern` (fastify's
 * routeOptions.url). Lets the API server be wired in one place (installRoutePermissions({ routes })) instead
 * of tagging each route; a route's own `config.access` still wins. Routes not listed get the hook's
 * `defaultAccess` (admin), which is what bull-board's job controls under /queues need.
 */
import type { Action, AccessLevel } from './policy';

export interface RouteRule {
  access: AccessLevel | 'public';
  /** Audit action (src/access/policy.ts ACTIONS). */
  action?: Action;
}

export const API_ROUTE_ACCESS: Readonly<Record<string, RouteRule>> = {
  'GET /api/lists': { access: 'read' },
  'POST /api/lists': { access: 'write', action: 'list.import' },
  'GET /api/lists/:id': { access: 'read', action: 'list.show' },
  // Raw rows of the upload: numbers in them masked unless an owner holds an OTP grant.
  'GET /api/lists/:id/rejects.csv': { access: 'read', action: 'list.show' },
  'DELETE /api/lists/:id': { access: 'write', action: 'list.delete' },
  'GET /api/campaigns': { access: 'read', action: 'campaign.list' },
  'POST /api/campaigns': { access: 'write', action: 'campaign.create' },
  'GET /api/campaigns/:id': { access: 'read', action: 'campaign.show' },
  'POST /api/campaigns/:id/start': { access: 'write', action: 'campaign.start' },
  'POST /api/campaigns/:id/pause': { access: 'write', action: 'campaign.pause' },
  'POST /api/campaigns/:id/resume': { access: 'write', action: 'campaign.resume' },
  'POST /api/campaigns/:id/cancel': { access: 'write', action: 'campaign.cancel' },
  'POST /api/campaigns/:id/retry': { access: 'write', action: 'campaign.retry' },
  'GET /api/campaigns/:id/failure-reasons': { access: 'read', action: 'campaign.status' },
  // Per-message data: phones masked unless an owner holds an OTP grant (use phoneFor in the handler).
  'GET /api/campaigns/:id/messages': { access: 'read', action: 'message.list' },
  'GET /api/campaigns/:id/failures.csv': { access: 'read', action: 'message.list' },
  // The CLI's `suppress --phone`: an operator's action, as on the command line.
  'POST /api/suppressions': { access: 'write', action: 'suppression.add' },
  // Whether a number is suppressed (masked in the answer); taking it off the list is an operator's action, like adding.
  'GET /api/suppressions/:phone': { access: 'read', action: 'suppression.show' },
  'DELETE /api/suppressions/:phone': { access: 'write', action: 'suppression.remove' },
  'GET /metrics': { access: 'read', action: 'metrics.read' },
  'GET /api/access/me': { access: 'read' },
  'POST /api/access/otp': { access: 'read' },
  'POST /api/access/otp/verify': { access: 'read' },
};

/**
 * A HEAD request is keyed as the GET it mirrors: fastify answers HEAD for every GET route by running the GET
 * handler (exposeHeadRoutes). Unlisted, it fell to the owner-only default: a viewer's HEAD of its own readable
 * routes was a 403, and an owner's was audited as an admin action.
 */
export function routeKey(method: string, url: string | undefined): string {
  const upper = method.toUpperCase();
  return `${upper === 'HEAD' ? 'GET' : upper} ${url ?? ''}`;
}
