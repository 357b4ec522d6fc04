/**
 * `bulksms suppress --phone` over HTTP: POST /api/suppressions, idempotent, validated like the CLI, operator-level.
 * `suppression check` and `suppression remove --phone` over HTTP: GET and DELETE /api/suppressions/:phone.
 */
import { FormData } from 'undici';
import { useTestEnv } from '../../helpers/env';
import { wiredServices } from '../../../src/cli/commands/serve';
import { createToken } from '../../../src/access/tokens';
import { TEST_API_TOKEN, http, startApi, type RunningApi } from '../../helpers/api-server';
import { addSuppressions } from '../../../src/suppression/suppression';
import { waitFor } from '../../helpers/sending-fixtures';

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

describe('POST /api/suppressions with phones (a DND list at once)', () => {
  let api: RunningApi;
  let operator = '';
  beforeAll(async () => {
    api = await startApi(env.container(), wiredServices(), { dashboard: false });
    operator = (await createToken(env.container(), { role: 'operator' })).token;
  });
  afterAll(() => api.close());
  const post = (json: unknown) => http('POST', `${api.url}/api/suppressions`, { json, token: operator });
  const stored = async (): Promise<{ phone: string; reason: string | null; source: string }[]> =>
    (await env.container().pg.query(`SELECT phone, reason, source FROM suppressions WHERE phone LIKE '+9198765433%' ORDER BY phone`)).rows;

  it('adds every number as typed, each once (the same number twice in the list, or already there, is not added again)', async () => {
    await addSuppressions(env.container(), [{ phone: '9876543300' }]);
    const res = await post({ phones: ['+91 98765 43300', '98765 43301', '098765-43302', '9876543301'], reason: 'DND register' });
    expect([res.status, res.json()]).toEqual([200, { added: 2 }]);
    expect(await stored()).toEqual([
      { phone: '+919876543300', reason: null, source: 'manual' },
      { phone: '+919876543301', reason: 'DND register', source: 'api' },
      { phone: '+919876543302', reason: 'DND register', source: 'api' },
    ]);
    // The entry is written before the handler runs and completed with its outcome as the answer goes out.
    const lastAdd = async (): Promise<Record<string, unknown>> =>
      (await env.container().pg.query(`SELECT details FROM audit_log WHERE action = 'suppression.add' ORDER BY id DESC LIMIT 1`)).rows[0].details;
    await waitFor('the audit entry completed', async () => 'numbers' in (await lastAdd()), 5_000, 20);
    expect(await lastAdd()).toMatchObject({ numbers: 4, added: 2 });
    expect(JSON.stringify(await lastAdd())).not.toMatch(/98765/);
  });

  it('adds none when one is invalid, naming each invalid one by its position', async () => {
    const res = await post({ phones: ['9876543310', '12345', '9876543311', 'abc'] });
    const { error } = res.json<ErrorBody>();
    expect([res.status, error.field]).toEqual([400, 'phone']);
    expect(error.message).toMatch(/^invalid phone numbers: #2 "12345" \(.+\), #4 "abc" \(.+\)$/);
    expect((await stored()).filter((r) => r.phone.startsWith('+91987654331'))).toEqual([]);
  });

  it('refuses both phone and phones, neither, an empty list and one over 10,000', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ phone: '9876543320', phones: ['9876543321'] }, 'phones', /either phone .* or phones/],
      [{ reason: 'x' }, 'phone', /phone is required .* or phones \(up to 10,000/],
      [{ phones: [] }, 'phones', /phones/],
      [{ phones: Array.from({ length: 10_001 }, (_, i) => `98765${String(i).padStart(5, '0')}`) }, 'phones', /phones.*10000/],
    ];
    for (const [json, field, message] of cases) {
      const res = await post(json);
      const { error } = res.json<ErrorBody>();
      expect({ status: res.status, field: error?.field, message: error?.message }).toEqual({ status: 400, field, message: expect.stringMatching(message) });
    }
    expect((await stored()).filter((r) => r.phone.startsWith('+91987654332'))).toEqual([]);
  });
});

describe('GET and DELETE /api/suppressions/:phone', () => {
  let api: RunningApi;
  const tokens = { viewer: '', operator: '', operatorId: '' };
  beforeAll(async () => {
    api = await startApi(env.container(), wiredServices(), { dashboard: false });
    tokens.viewer = (await createToken(env.container(), { role: 'viewer' })).token;
    const operator = await createToken(env.container(), { role: 'operator' });
    tokens.operator = operator.token;
    tokens.operatorId = operator.tokenId;
  });
  afterAll(() => api.close());
  const at = (typed: string, query = ''): string => `${api.url}/api/suppressions/${encodeURIComponent(typed)}${query}`;

  it('tells a viewer whether a number is suppressed, read as imports read it, the number masked; each looked-up number audited', async () => {
    await addSuppressions(env.container(), [{ phone: '9876543250', reason: 'STOP from 98765 43250', source: 'api' }]);
    const answers = [];
    for (const typed of ['+91 98765 43250', '098765 43250', '9876543251']) {
      const res = await http('GET', at(typed), { token: tokens.viewer });
      answers.push([res.status, res.json()]);
    }
    expect(answers).toEqual([
      [200, { phone: '+91******3250', suppressed: true, reason: 'STOP from ***** *3250', source: 'api', since: expect.stringMatching(/^\d{4}-.*Z$/) }],
      [200, { phone: '+91******3250', suppressed: true, reason: 'STOP from ***** *3250', source: 'api', since: expect.any(String) }],
      [200, { phone: '+91******3251', suppressed: false, reason: null, source: null, since: null }],
    ]);
    const invalid = await http('GET', at('12345'), { token: tokens.viewer });
    expect([invalid.status, invalid.json<ErrorBody>().error.field]).toEqual([400, 'phone']);
    // Once per number a minute, masked: the second look-up of +919876543250 was not audited again.
    const lookups = await env.container().prisma.auditLog.findMany({ where: { action: 'suppression.lookup' }, orderBy: { id: 'asc' } });
    expect(lookups.map((a) => a.details)).toEqual([{ phone: '+91******3250' }, { phone: '+91******3251' }]);
  });

  it('lets an operator take a number off the list with a reason, audited; a viewer is refused', async () => {
    await addSuppressions(env.container(), [{ phone: '9876543260', reason: 'DND' }]);
    const del = (typed: string, query: string, token: string) => http('DELETE', at(typed, query), { token });
    const refused = await del('9876543260', '?reason=x', tokens.viewer);
    const noReason = await del('9876543260', '', tokens.operator);
    const invalid = await del('12345', '?reason=x', tokens.operator);
    expect([refused.status, noReason.status, noReason.json<ErrorBody>().error.field, invalid.status, invalid.json<ErrorBody>().error.field])
      .toEqual([403, 400, 'reason', 400, 'phone']);
    const removed = await del('+91 98765 43260', `?reason=${encodeURIComponent('re-subscribed, ticket 4412')}`, tokens.operator);
    const again = await del('098765 43260', '?reason=retry', tokens.operator);
    expect([removed.status, removed.json(), again.status, again.json()])
      .toEqual([200, { phone: '+91******3260', removed: 1 }, 200, { phone: '+91******3260', removed: 0 }]);
    const { rows } = await env.container().pg.query(`SELECT count(*)::int AS n FROM suppressions WHERE phone = '+919876543260'`);
    expect(rows[0]).toEqual({ n: 0 });
    // The outcome is added to each entry once its answer is out: read until all three carry it.
    const removals = () => env.container().prisma.auditLog.findMany({ where: { action: 'suppression.remove' }, orderBy: { id: 'asc' } });
    const audit = await waitFor('three removals audited with their outcome', async () => {
      const rows = await removals();
      return rows.length === 3 && rows.every((r) => (r.details as { status?: number }).status !== undefined) ? rows : null;
    }, 5_000, 20);
    expect(audit.map((a) => ({ tokenId: a.tokenId, target: a.target, details: a.details }))).toEqual([
      // The refused number: an entry that says 400, with no number to name.
      { tokenId: tokens.operatorId, target: null, details: expect.objectContaining({ status: 400 }) },
      { tokenId: tokens.operatorId, target: null, details: expect.objectContaining({ phone: '+91******3260', reason: 're-subscribed, ticket 4412', removed: 1, status: 200 }) },
      { tokenId: tokens.operatorId, target: null, details: expect.objectContaining({ phone: '+91******3260', reason: 'retry', removed: 0, status: 200 }) },
    ]);
    expect(JSON.stringify(audit.map((a) => a.details))).not.toContain('9876543260');
  });

  it('takes the reason (and country) from a JSON body too, off the URL that access logs and proxies keep; the query still works', async () => {
    await addSuppressions(env.container(), [{ phone: '9876543280', reason: 'DND' }, { phone: '9876543281', reason: 'DND' }]);
    const reason = 'customer called back, ticket 5521';
    const inBody = await http('DELETE', at('9876543280'), { json: { reason, country: 'IN' }, token: tokens.operator });
    expect([inBody.status, inBody.json()]).toEqual([200, { phone: '+91******3280', removed: 1 }]);
    // Refused: no reason anywhere, a reason given twice (which one to audit?), a body field it does not know.
    const refusals = [];
    for (const [query, json] of [
      ['', {}],
      ['?reason=a', { reason: 'b' }],
      ['', { reason: '' }],
      ['', { reason: 'x', phone: '9876543281' }],
    ] as const) {
      const res = await http('DELETE', at('9876543281', query), { json, token: tokens.operator });
      refusals.push([res.status, res.json<ErrorBody>().error.field]);
    }
    expect(refusals).toEqual([[400, 'reason'], [400, 'reason'], [400, 'reason'], [400, 'phone']]);
    const byQuery = await http('DELETE', at('9876543281', '?reason=by%20query'), { token: tokens.operator });
    expect([byQuery.status, byQuery.json()]).toEqual([200, { phone: '+91******3281', removed: 1 }]);
    const entry = await waitFor('the body removal audited with its outcome', async () => {
      const rows = await env.container().prisma.auditLog.findMany({ where: { action: 'suppression.remove' }, orderBy: { id: 'asc' } });
      const found = rows.find((r) => (r.details as { reason?: string }).reason === reason);
      return found && (found.details as { status?: number }).status !== undefined ? found : null;
    }, 5_000, 20);
    expect(entry.details).toMatchObject({ phone: '+91******3280', reason, removed: 1, status: 200 });
  });

  it('leaves messages already suppressed as they are; the next run and the next import use the list as it now is', async () => {
    const upload = async (name: string) => {
      const form = new FormData();
      form.append('name', name);
      form.append('file', new Blob(['phone\n9876543270\n9876543271\n']), `${name}.csv`);
      return (await http('POST', `${api.url}/api/lists`, { body: form, token: tokens.operator })).json<{ accepted: number; suppressed: number }>();
    };
    expect(await upload('before')).toMatchObject({ accepted: 2, suppressed: 0 });
    await http('POST', `${api.url}/api/suppressions`, { json: { phone: '9876543270' }, token: tokens.operator });
    const campaign = { list: 'before', type: 'transactional', from: 'ACMEIN', text: 'Hi' };
    const startNew = async (name: string): Promise<string> => {
      const id = (await http('POST', `${api.url}/api/campaigns`, { json: { ...campaign, name }, token: tokens.operator })).json<{ campaignId: string }>().campaignId;
      expect((await http('POST', `${api.url}/api/campaigns/${id}/start`, { json: { force: true }, token: tokens.operator })).status).toBe(200);
      return id;
    };
    const counts = async (id: string) => (await http('GET', `${api.url}/api/campaigns/${id}`)).json<{ counts: Record<string, number> }>().counts;
    const first = await startNew('first');
    expect(await counts(first)).toMatchObject({ pending: 1, suppressed: 1 });

    expect((await http('DELETE', `${api.url}/api/suppressions/9876543270?reason=mistake`, { token: tokens.operator })).json()).toMatchObject({ removed: 1 });
    expect(await counts(first)).toMatchObject({ pending: 1, suppressed: 1 });
    const { rows } = await env.container().pg.query(`SELECT status FROM messages WHERE campaign_id = $1 AND phone = '+919876543270'`, [first]);
    expect(rows).toEqual([{ status: 'suppressed' }]);

    expect(await counts(await startNew('second'))).toMatchObject({ pending: 2, suppressed: 0 });
    expect(await upload('after')).toMatchObject({ accepted: 2, suppressed: 0 });
  });
});
