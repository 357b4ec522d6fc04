/** `bulksms suppress --phone` over HTTP: POST /api/suppressions, idempotent, validated like the CLI, operator-level. */
import { useTestEnv } from '../../helpers/env';
import { wiredServices } from '../../../src/cli/commands/serve';
import { createToken } from '../../../src/access/tokens';
import { TEST_API_TOKEN, http, startApi, type RunningApi } from '../../helpers/api-server';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });

type ErrorBody = { error: { code: string; message: string; field?: string } };

describe('POST /api/suppressions', () => {
  let api: RunningApi;
  beforeAll(async () => {
    api = await startApi(env.container(), wiredServices(), { dashboard: false });
  });
  afterAll(() => api.close());

  it('adds a number as typed, once: a retry answers added 0 and stores nothing more', async () => {
    const post = (json: unknown, token?: string) => http('POST', `${api.url}/api/suppressions`, { json, ...(token ? { token } : {}) });
    const operator = (await createToken(env.container(), { role: 'operator' })).token;
    const first = await post({ phone: '98765 43210', reason: 'replied STOP' }, operator);
    const again = await post({ phone: '+91 98765-43210', reason: 'replied STOP' }, operator);
    expect([first.status, first.json(), again.status, again.json()]).toEqual([200, { added: 1 }, 200, { added: 0 }]);
    const { rows } = await env.container().pg.query('SELECT phone, reason, source FROM suppressions');
    expect(rows).toEqual([{ phone: '+919876543210', reason: 'replied STOP', source: 'api' }]);
  });

  it('refuses what the CLI refuses, naming the field, and a viewer', async () => {
    const viewer = (await createToken(env.container(), { role: 'viewer' })).token;
    const cases: [unknown, string | undefined, number, string | undefined, RegExp][] = [
      [{ phone: '12345' }, undefined, 400, 'phone', /^invalid phone number: "12345"/],
      [{ phone: '9876543211', country: 'ZZ' }, undefined, 400, 'country', /^country: unknown country "ZZ"/],
      [{ phone: '9876543211', source: 'x' }, undefined, 400, 'source', /source/],
      [{}, undefined, 400, 'phone', /phone/],
      // Bounded: an invalid value is quoted back and logged, so a megabyte of it made a megabyte-long log line.
      [{ phone: '9'.repeat(65) }, undefined, 400, 'phone', /phone.*64/],
      [{ phone: '9876543211', country: 'X'.repeat(9) }, undefined, 400, 'country', /country.*8/],
      [{ phone: '9876543211' }, viewer, 403, undefined, /./],
    ];
    for (const [json, token, status, field, message] of cases) {
      const res = await http('POST', `${api.url}/api/suppressions`, { json, ...(token ? { token } : {}) });
      const { error } = res.json<ErrorBody>();
      expect({ json, status: res.status, field: error?.field, message: error?.message })
        .toEqual({ json, status, field, message: expect.stringMatching(message) });
    }
    const { rows } = await env.container().pg.query(`SELECT count(*)::int AS n FROM suppressions WHERE phone = '+919876543211'`);
    expect(rows[0]).toEqual({ n: 0 });
  });
});
