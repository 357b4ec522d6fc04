/**
 * User input that PostgreSQL cannot take (a NUL in any string, a cursor beyond bigint) is a 400 naming the field,
 * not a 500 from the failing query — with the real services wired as `bulksms serve` wires them.
 */
import { FormData } from 'undici';
import { wiredServices } from '../../../src/cli/commands/serve';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign } from '../../helpers/api-fixtures';
import { TEST_API_TOKEN, TEST_WEBHOOK_SECRET, http, startApi, type RunningApi } from '../../helpers/api-server';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET });

describe('input PostgreSQL cannot store', () => {
  let api: RunningApi;
  let campaignId: string;
  beforeAll(async () => {
    api = await startApi(env.container(), wiredServices(), { dashboard: false });
    ({ campaignId } = await seedCampaign(env.container(), [{ status: 'sent' as const, outcomeClass: 'accepted' as const }]));
  });
  afterAll(() => api.close());

  const campaign = { name: 'x', list: 'nolist', type: 'transactional', from: 'ACMEIN', text: 'hi' };
  it.each([
    ['a cursor beyond bigint', 'GET', (): string => `/api/campaigns/${campaignId}/messages?cursor=${Buffer.from('m:9999999999999999999').toString('base64url')}`, {}, 'cursor'],
    ['a NUL in a query parameter', 'GET', (): string => `/api/campaigns/${campaignId}/messages?phone=%00`, {}, 'phone'],
    ['a NUL in a campaign name', 'POST', (): string => '/api/campaigns', { json: { ...campaign, name: 'x\u0000y' } }, 'name'],
    ['a NUL in a list reference', 'POST', (): string => '/api/campaigns', { json: { ...campaign, list: 'a\u0000b' } }, 'list'],
    ['a NUL in a pause reason', 'POST', (): string => `/api/campaigns/${campaignId}/pause`, { json: { reason: 'a\u0000b' } }, 'reason'],
    ['a NUL in a delivery report', 'POST', (): string => `/webhooks/dlr/${TEST_WEBHOOK_SECRET}`, { json: { SessionId: 'a\u0000b', SmsTo: '91', SmsStatus: 'DELIVERED' }, token: null }, 'SessionId'],
  ] as const)('%s → 400 naming the field', async (_label, method, url, opts, field) => {
    const res = await http(method, `${api.url}${url()}`, opts as Parameters<typeof http>[2]);
    expect({ status: res.status, field: res.json<{ error: { field?: string } }>().error.field }).toEqual({ status: 400, field });
  });

  it.each([
    ['a misspelt run on failure-reasons', 'GET', (): string => `/api/campaigns/${campaignId}/failure-reasons?Run=2`, {}, 'Run'],
    ['a misspelt run on failures.csv', 'GET', (): string => `/api/campaigns/${campaignId}/failures.csv?runs=2`, {}, 'runs'],
    ['a reason given to cancel (only pause takes one)', 'POST', (): string => `/api/campaigns/${campaignId}/cancel`, { json: { reason: 'wrong list' } }, 'reason'],
    ['an option given to resume', 'POST', (): string => `/api/campaigns/${campaignId}/resume`, { json: { force: true } }, 'force'],
  ] as const)('%s → 400 naming it, not silently ignored (nothing done)', async (_label, method, url, opts, field) => {
    const res = await http(method, `${api.url}${url()}`, opts as Parameters<typeof http>[2]);
    expect({ status: res.status, field: res.status === 400 ? res.json<{ error: { field?: string } }>().error.field : res.text.slice(0, 200) })
      .toEqual({ status: 400, field });
    const { rows } = await env.container().pg.query('SELECT status::text FROM campaigns WHERE id = $1', [campaignId]);
    expect(rows[0]).toEqual({ status: 'running' });
  });

  it.each(['start', 'pause', 'resume', 'cancel', 'retry', 'pause (empty body)'])(
    'a text/plain body to %s → 415 like any other media type it does not take, nothing done',
    async (action) => {
      const body = action.endsWith('(empty body)') ? '' : '{"reason":"x"}';
      const res = await http('POST', `${api.url}/api/campaigns/${campaignId}/${action.split(' ')[0]}`, { body, headers: { 'content-type': 'text/plain' } });
      expect({ status: res.status, code: res.json<{ error: { code: string } }>().error.code }).toEqual({ status: 415, code: 'unsupported_media_type' });
      const { rows } = await env.container().pg.query('SELECT status::text FROM campaigns WHERE id = $1', [campaignId]);
      expect(rows[0]).toEqual({ status: 'running' });
    },
  );

  it.each([
    ['a campaign', (): string => '/api/campaigns', TEST_API_TOKEN],
    ['a delivery report', (): string => `/webhooks/dlr/${TEST_WEBHOOK_SECRET}`, null],
  ] as const)('JSON nested thousands of levels deep in %s → 400, not a stack overflow', async (_label, url, token) => {
    for (const body of ['['.repeat(20_000) + ']'.repeat(20_000), '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000)]) {
      const res = await http('POST', `${api.url}${url()}`, { token, body, headers: { 'content-type': 'application/json' } });
      expect({ status: res.status, code: res.json<{ error: { code: string } }>().error.code }).toEqual({ status: 400, code: 'validation' });
    }
  });

  it('a NUL in an upload’s list name → 400, nothing imported', async () => {
    const fd = new FormData();
    fd.append('name', 'a\u0000b');
    fd.append('file', new Blob(['phone\n9876543210\n']), 'a.csv');
    const res = await http('POST', `${api.url}/api/lists`, { body: fd });
    expect({ status: res.status, field: res.json<{ error: { field?: string } }>().error.field }).toEqual({ status: 400, field: 'name' });
    const { rows } = await env.container().pg.query(`SELECT count(*)::int AS n FROM contact_lists WHERE name LIKE 'a%b'`);
    expect(rows[0]).toEqual({ n: 0 });
  });

  it.each([
    ['a tab', 'tab\there', 'U+0009 (tab) at character 4'],
    ['a bell', 'bell\u0007', 'U+0007 (bell) at character 5'],
    ['an ANSI escape', 'red\u001b[31m', 'U+001B (escape, which starts terminal colour codes) at character 4'],
  ])('%s in an upload’s list name → 400 naming name and the character, nothing imported', async (_label, name, described) => {
    const fd = new FormData();
    fd.append('name', name);
    fd.append('file', new Blob(['phone\n9876543210\n']), 'a.csv');
    const res = await http('POST', `${api.url}/api/lists`, { body: fd });
    expect({ status: res.status, error: res.json<{ error: unknown }>().error }).toEqual({
      status: 400,
      error: { code: 'validation', field: 'name', message: `name: a list name must not hold ${described}, an invisible control character; remove it` },
    });
    const { rows } = await env.container().pg.query('SELECT count(*)::int AS n FROM contact_lists WHERE name = $1', [name]);
    expect(rows[0]).toEqual({ n: 0 });
  });

  it('a tab in a campaign name → 400 naming name and the character, as a list name', async () => {
    const res = await http('POST', `${api.url}/api/campaigns`, { json: { ...campaign, name: 'Diwali\t2026' } });
    expect({ status: res.status, error: res.json<{ error: unknown }>().error }).toEqual({
      status: 400,
      error: { code: 'validation', field: 'name', message: 'name: a campaign name must not hold U+0009 (tab) at character 7, an invisible control character; remove it' },
    });
  });

  it('a NUL in an upload’s file name → 400, nothing imported', async () => {
    const fd = new FormData();
    fd.append('name', 'nul-file-name');
    fd.append('file', new Blob(['phone\n9876543210\n']), 'a\u0000b.csv');
    const res = await http('POST', `${api.url}/api/lists`, { body: fd });
    expect({ status: res.status, field: res.json<{ error: { field?: string } }>().error.field }).toEqual({ status: 400, field: 'file' });
    const { rows } = await env.container().pg.query(`SELECT count(*)::int AS n FROM contact_lists WHERE name = 'nul-file-name'`);
    expect(rows[0]).toEqual({ n: 0 });
  });
});
