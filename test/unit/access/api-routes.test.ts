import { API_ROUTE_ACCESS, routeKey } from '../../../src/access/api-routes';
import { ACTIONS, decide, ROLES } from '../../../src/access/policy';

describe('API route table', () => {
  it('names only known actions, at the level the policy gives them', () => {
    for (const [route, rule] of Object.entries(API_ROUTE_ACCESS)) {
      expect(route).toMatch(/^(GET|POST|PUT|PATCH|DELETE) \//);
      if (rule.action) expect([route, ACTIONS[rule.action]]).toEqual([route, rule.access]);
    }
  });

  it('gives every role exactly its routes', () => {
    const allowed = (role: (typeof ROLES)[number]) =>
      Object.entries(API_ROUTE_ACCESS)
        .filter(([, r]) => r.access === 'public' || decide(role, r.access).allow)
        .map(([k]) => k);
    const all = Object.keys(API_ROUTE_ACCESS);
    const writes = all.filter((k) => API_ROUTE_ACCESS[k]!.access === 'write');
    expect(allowed('owner')).toEqual(all);
    expect(allowed('operator')).toEqual(all);
    expect(allowed('viewer')).toEqual(all.filter((k) => !writes.includes(k)));
    expect(writes).toEqual(expect.arrayContaining(['POST /api/lists', 'POST /api/campaigns/:id/start', 'POST /api/campaigns/:id/cancel']));
  });

  it('keys routes like fastify reports them', () => {
    expect(routeKey('get', '/api/campaigns/:id')).toBe('GET /api/campaigns/:id');
  });

  it('keys a HEAD request as the GET route fastify answers it with', () => {
    expect(routeKey('HEAD', '/api/campaigns/:id')).toBe(routeKey('GET', '/api/campaigns/:id'));
  });
});
