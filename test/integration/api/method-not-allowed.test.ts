/**
 * A path the API has, asked with a method it does not take, is 405 Method Not Allowed naming the methods it takes in
 * `Allow` (RFC 9110 §15.5.6), not a 404 "no route" for a path spelt right; a path that is no route stays 404. Over
 * real HTTP, with the authentication and role hooks as `serve` wires them: no token still gets its 401 first.
 */
import { createToken } from '../../../src/access/tokens';
import { stubServices } from '../../helpers/api-services';
import { useTestEnv } from '../../helpers/env';
import { TEST_API_TOKEN, TEST_WEBHOOK_SECRET, http, startApi, type RunningApi } from '../../helpers/api-server';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET });
const SOME_ID = '00000000-0000-4000-8000-000000000000';

describe('a known path with a method it does not take', () => {
  let api: RunningApi;
  beforeAll(async () => {
    api = await startApi(env.container(), stubServices(), { dashboard: false });
  });
  afterAll(() => api.close());

  it.each([
    ['PUT', '/api/campaigns', 'GET, HEAD, POST'],
    ['DELETE', '/api/campaigns', 'GET, HEAD, POST'],
    ['PATCH', `/api/campaigns/${SOME_ID}`, 'GET, HEAD'],
    ['GET', `/api/campaigns/${SOME_ID}/start`, 'POST'],
    ['POST', `/api/lists/${SOME_ID}`, 'GET, HEAD, DELETE'],
    ['PUT', '/api/campaigns?limit=1', 'GET, HEAD, POST'],
  ] as const)('%s %s → 405 with Allow: %s', async (method, path, allow) => {
    const res = await http(method, `${api.url}${path}`);
    expect({ status: res.status, allow: res.headers['allow'], error: res.json<{ error: unknown }>().error }).toEqual({
      status: 405,
      allow,
      error: { code: 'method_not_allowed', message: `${method} is not allowed on ${path.split('?')[0]}: it takes ${allow}` },
    });
  });

  it('a path that is no route at all stays 404', async () => {
    for (const [method, path] of [['GET', '/api/campaign'], ['PUT', '/api/nothing/here'], ['DELETE', `/api/campaigns/${SOME_ID}/nope`]] as const) {
      const res = await http(method, `${api.url}${path}`);
      expect({ method, path, status: res.status, code: res.json<{ error: { code: string } }>().error.code }).toEqual({ method, path, status: 404, code: 'not_found' });
    }
  });

  it('without a token the protected prefixes answer 401 first, the path spelt plainly or %-encoded', async () => {
    for (const path of ['/api/campaigns', '/%61pi/campaigns', '/api/nothing']) {
      const res = await http('PUT', `${api.url}${path}`, { token: null });
      expect({ path, status: res.status, allow: res.headers['allow'] }).toEqual({ path, status: 401, allow: undefined });
    }
  });

  it('a viewer gets the same 405 as an owner (the methods the API has, as /docs shows them), not a role refusal', async () => {
    const { token } = await createToken(env.container(), { role: 'viewer' });
    const res = await http('DELETE', `${api.url}/api/campaigns`, { token });
    expect({ status: res.status, allow: res.headers['allow'] }).toEqual({ status: 405, allow: 'GET, HEAD, POST' });
  });

  it('the webhook URL opened in a browser is 405 Allow: POST, without its secret in the answer', async () => {
    const res = await http('GET', `${api.url}/webhooks/dlr/${TEST_WEBHOOK_SECRET}`, { token: null });
    expect({ status: res.status, allow: res.headers['allow'] }).toEqual({ status: 405, allow: 'POST' });
    expect(res.text).toContain('[REDACTED]');
    expect(res.text).not.toContain(TEST_WEBHOOK_SECRET);
  });
});
