import { parse } from 'csv-parse/sync';
import { useTestEnv } from '../../helpers/env';
import { stubServices } from '../../helpers/api-services';
import { applyDeliveryCallback } from '../../../src/delivery/webhook';
import { seedCampaign } from '../../helpers/api-fixtures';
import { createToken } from '../../../src/access/tokens';
import { TEST_API_TOKEN, TEST_WEBHOOK_SECRET, http, startApi, type RunningApi } from '../../helpers/api-server';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET });

interface Page {
  items: { id: string; phone: string; status: string; outcomeClass: string | null }[];
  nextCursor: string | null;
}

describe('messages, failures export and the delivery-report webhook', () => {
  let api: RunningApi;
  beforeAll(async () => {
    // The real delivery-report handler (src/delivery/webhook.ts) behind the route.
    api = await startApi(env.container(), { ...stubServices(), applyDeliveryCallback }, { dashboard: false });
  });
  afterAll(() => api.close());

  it('pages through messages with a keyset cursor, without gaps or repeats, honouring filters', async () => {
    const { campaignId } = await seedCampaign(
      env.container(),
      Array.from({ length: 25 }, (_, i) => ({
        status: i % 5 === 0 ? ('failed' as const) : ('sent' as const),
        outcomeClass: i % 5 === 0 ? ('permanent_recipient' as const) : ('accepted' as const),
      })),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const res = await http('GET', `${api.url}/api/campaigns/${campaignId}/messages?limit=10${q}`);
      expect(res.status).toBe(200);
      const page = res.json<Page>();
      seen.push(...page.items.map((m) => m.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    expect([...seen].sort((a, b) => Number(a) - Number(b))).toEqual(seen);

    const failed = (await http('GET', `${api.url}/api/campaigns/${campaignId}/messages?status=failed`)).json<Page>();
    expect(failed.items).toHaveLength(5);
    expect(failed.items.every((m) => m.status === 'failed')).toBe(true);
    expect(failed.nextCursor).toBeNull();
    const byClass = await http('GET', `${api.url}/api/campaigns/${campaignId}/messages?outcomeClass=accepted&limit=100`);
    expect(byClass.json<Page>().items).toHaveLength(20);
    const byPhone = await http('GET', `${api.url}/api/campaigns/${campaignId}/messages?phone=${encodeURIComponent('+91 98 0000 0003')}`);
    expect(byPhone.json<Page>().items.map((m) => m.phone)).toEqual(['+91******0003']); // masked: no OTP grant
  });

  it('finds a message by the number as an operator types it: 10 digits, a leading 0 or +91, spaced', async () => {
    const { campaignId } = await seedCampaign(env.container(), [{ phone: '+919876543210', status: 'failed' }, { phone: '+919876543211', status: 'sent' }]);
    const found = [];
    for (const typed of ['9876543210', '098765 43210', '+91 98765-43210', '919876543210']) {
      const res = await http('GET', `${api.url}/api/campaigns/${campaignId}/messages?phone=${encodeURIComponent(typed)}`);
      found.push({ typed, phones: res.json<Page>().items.map((m) => m.phone) });
    }
    expect(found).toEqual(['9876543210', '098765 43210', '+91 98765-43210', '919876543210'].map((typed) => ({ typed, phones: ['+91******3210'] })));
    // A number of another country stays unmatched (no guessing at other countries' numbers).
    const other = await http('GET', `${api.url}/api/campaigns/${campaignId}/messages?phone=${encodeURIComponent('+44 7911 123456')}`);
    expect({ status: other.status, items: other.json<Page>().items }).toEqual({ status: 200, items: [] });
  });

  it('phone= that is no phone number → 400 naming phone and why, not an empty page; it costs no masked lookup', async () => {
    const { campaignId } = await seedCampaign(env.container(), [{ phone: '+919876543210', status: 'failed' }]);
    const { token } = await createToken(env.container(), { role: 'viewer' });
    // The masked caller's budget (20 different numbers a minute) is per minute: start well inside one.
    const toNextMinute = 60_000 - (Date.now() % 60_000);
    if (toNextMinute < 15_000) await new Promise((r) => setTimeout(r, toNextMinute + 100));
    const lookup = (phone: string) => http('GET', `${api.url}/api/campaigns/${campaignId}/messages?phone=${encodeURIComponent(phone)}`, { token });
    for (const typed of ['abc', '12345', '98765 4321x']) {
      const res = await lookup(typed);
      const error = res.json<{ error: { field?: string; message: string } }>().error;
      expect({ typed, status: res.status, field: error.field }).toEqual({ typed, status: 400, field: 'phone' });
      expect(error.message).toContain(`"${typed}"`);
    }
    for (let n = 0; n < 20; n++) expect((await lookup(`nonsense-${n}`)).status).toBe(400);
    // None of those took a place in the minute's budget: 20 different real numbers still answer.
    const statuses: number[] = [];
    for (let n = 0; n < 20; n++) statuses.push((await lookup(`+9198${1000 + n}5678`)).status);
    expect(statuses).toEqual(Array.from({ length: 20 }, () => 200));
  }, 30_000);

  it('refuses a cursor of another campaign or other filters (400 naming cursor) instead of skipping messages', async () => {
    // B's messages are older (lower ids) than A's: a cursor after one of A's, applied to B, started after all of B.
    const b = await seedCampaign(env.container(), [{ status: 'sent' }, { status: 'sent' }, { status: 'failed' }]);
    const a = await seedCampaign(env.container(), [{ status: 'failed' }, { status: 'sent' }, { status: 'sent' }, { status: 'failed' }]);
    const page = async (campaignId: string, query: string) => http('GET', `${api.url}/api/campaigns/${campaignId}/messages?${query}`);
    const ofA = (await page(a.campaignId, 'limit=1')).json<Page>().nextCursor!;
    const failedOfA = (await page(a.campaignId, 'status=failed&limit=1')).json<Page>().nextCursor!;
    const answers = [];
    for (const [campaignId, query] of [[b.campaignId, `limit=10&cursor=${ofA}`], [a.campaignId, `status=sent&cursor=${failedOfA}`]] as const) {
      const res = await page(campaignId, query);
      answers.push({ status: res.status, field: res.status === 400 ? res.json<{ error: { field?: string } }>().error.field : res.text });
    }
    expect(answers).toEqual([{ status: 400, field: 'cursor' }, { status: 400, field: 'cursor' }]);
    // Its own query still pages on with it: the rest of A's failed messages.
    const rest = (await page(a.campaignId, `status=failed&limit=1&cursor=${failedOfA}`)).json<Page>();
    expect(rest.items.map((m) => m.status)).toEqual(['failed']);
  });

  it('answers 400 naming the field for bad filters and cursors', async () => {
    const { campaignId } = await seedCampaign(env.container(), [{ status: 'sent' }]);
    const base = `${api.url}/api/campaigns/${campaignId}/messages`;
    for (const [query, field] of [
      ['status=lost', 'status'],
      ['outcomeClass=bad', 'outcomeClass'],
      ['limit=0', 'limit'],
      ['cursor=xyz', 'cursor'],
      ['sort=phone', 'sort'],
    ]) {
      const res = await http('GET', `${base}?${query}`);
      expect({ query, status: res.status, field: res.json<{ error: { field?: string } }>().error.field }).toEqual({
        query, status: 400, field,
      });
    }
  });

  it('streams failures as formula-safe CSV', async () => {
    const { campaignId } = await seedCampaign(env.container(), [
      { status: 'failed', outcomeClass: 'permanent_recipient', failureReason: '=HYPERLINK("http://evil","x")' },
      { status: 'unknown', outcomeClass: 'ambiguous', providerText: '@SUM(A1:A2)' },
      { status: 'failed', failureReason: '-2+3', providerText: '\tcmd' },
      { status: 'failed', failureReason: 'line one\r\nline "two"' },
      { status: 'delivered', failureReason: 'not exported' },
    ]);
    const res = await http('GET', `${api.url}/api/campaigns/${campaignId}/failures.csv`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/csv');
    expect(res.headers['content-disposition']).toContain(`failures-${campaignId}.csv`);
    const rows = parse(res.text, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(4);
    expect(rows.map((r) => r.status)).toEqual(['failed', 'unknown', 'failed', 'failed']);
    expect(rows[0]!.failure_reason).toBe(`'=HYPERLINK("http://evil","x")`);
    expect(rows[1]!.provider_text).toBe("'@SUM(A1:A2)");
    expect(rows[2]!.failure_reason).toBe("'-2+3");
    expect(rows[2]!.provider_text).toBe("'\tcmd");
    expect(rows[3]!.failure_reason).toBe('line one\r\nline "two"');
    expect(rows[0]!.phone).toBe("'+91******0000"); // masked: no OTP grant
    for (const row of rows) for (const cell of Object.values(row)) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('applies a delivery callback posted with the right secret', async () => {
    await seedCampaign(env.container(), [{ status: 'sent', sessionId: 'sess-42' }]);
    const body = new URLSearchParams({ SessionId: 'sess-42', SmsTo: '919800000000', SmsStatus: 'DELIVERED', StatusId: '5' });
    const res = await http('POST', `${api.url}/webhooks/dlr/${TEST_WEBHOOK_SECRET}`, {
      token: null,
      body: body.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ ok: true, result: { sessionId: 'sess-42', state: 'delivered', updated: 1 } });
    const msg = await env.container().prisma.message.findFirst({ where: { sessionId: 'sess-42' } });
    expect(msg?.status).toBe('delivered');
  });

  it('rejects a wrong or missing secret without processing the callback', async () => {
    await seedCampaign(env.container(), [{ status: 'sent', sessionId: 'sess-43', phone: '+919800000043' }]);
    const form = {
      token: null,
      body: 'SessionId=sess-43&SmsTo=919800000043&SmsStatus=FAILED&ErrorPermanent=true',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    };
    const wrong = await http('POST', `${api.url}/webhooks/dlr/wrong-secret-0123456789`, form);
    expect(wrong.status).toBe(401);
    expect(wrong.json()).toEqual({ error: { code: 'unauthorized', message: 'invalid webhook secret' } });
    expect((await http('POST', `${api.url}/webhooks/dlr/`, form)).status).toBe(401);
    const msg = await env.container().prisma.message.findFirst({ where: { sessionId: 'sess-43' } });
    expect(msg?.status).toBe('sent');
    const missing = await http('POST', `${api.url}/webhooks/dlr/${TEST_WEBHOOK_SECRET}`, { ...form, body: 'SessionId=sess-43' });
    expect(missing.status).toBe(400);
    const empty = await http('POST', `${api.url}/webhooks/dlr/${TEST_WEBHOOK_SECRET}`, { ...form, body: '' });
    expect(empty.status).toBe(400);
  });

  it('answers 400 naming the field for a callback whose identifying fields are not UTF-8 text, and parks nothing', async () => {
    const url = `${api.url}/webhooks/dlr/${TEST_WEBHOOK_SECRET}`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const cases: Array<[string, Record<string, string>, string | Buffer, string]> = [
      // A Latin-1 body: the raw byte 0xE9 is no UTF-8 (it decodes to U+FFFD).
      ['raw latin-1 byte', form, Buffer.concat([Buffer.from('SessionId=enc-1'), Buffer.from([0xe9]), Buffer.from('&SmsTo=919800000001&SmsStatus=DELIVERED')]), 'SessionId'],
      // The same form %-encoded: é as %E9 is no UTF-8 sequence, and the parser leaves it as it was.
      ['Latin-1 %-escape', form, 'SessionId=enc-2&SmsTo=919800000001&SmsStatus=D%C9LIVR%E9', 'SmsStatus'],
      ['lone surrogate in JSON', { 'content-type': 'application/json' }, '{"SessionId":"enc-3","SmsTo":"9198\\ud80000001","SmsStatus":"FAILED"}', 'SmsTo'],
      ['control character', form, 'SessionId=enc-4%07&SmsTo=919800000001&SmsStatus=FAILED', 'SessionId'],
    ];
    for (const [what, headers, body, field] of cases) {
      const res = await http('POST', url, { token: null, body, headers });
      expect({ what, status: res.status, error: res.json<{ error: { field?: string } }>().error }).toEqual({
        what, status: 400, error: { code: 'validation', message: expect.stringContaining('not valid UTF-8'), field },
      });
    }
    const parked = await env.container().pg.query(`SELECT 1 FROM early_delivery_reports WHERE session_id LIKE 'enc-%'`);
    expect(parked.rowCount).toBe(0);
  });

  it('a request for no route under the webhook path is 404 (405 for another method) without the secret in the answer', async () => {
    for (const method of ['GET', 'PUT'] as const) {
      // Someone checks the callback URL in a browser: the path is the webhook's, which takes POST only.
      const res = await http(method, `${api.url}/webhooks/dlr/${TEST_WEBHOOK_SECRET}`, { token: null });
      expect({ method, status: res.status, allow: res.headers['allow'] }).toEqual({ method, status: 405, allow: 'POST' });
      expect(res.json()).toMatchObject({ error: { code: 'method_not_allowed', message: expect.stringContaining('[REDACTED]') } });
      expect(res.text).not.toContain(TEST_WEBHOOK_SECRET);
    }
    for (const [method, path] of [
      ['POST', `/webhooks/dlr/${TEST_WEBHOOK_SECRET}/extra`], // a callback URL configured with a segment too many
      // A slash doubled when the callback URL was pasted together (base URL ending in '/', then '/<secret>').
      ['POST', `/webhooks/dlr//${TEST_WEBHOOK_SECRET}`],
      ['POST', `/webhooks//dlr/${TEST_WEBHOOK_SECRET}`],
      ['POST', `//webhooks/dlr//${TEST_WEBHOOK_SECRET}/`],
    ] as const) {
      const res = await http(method, `${api.url}${path}`, { token: null, body: 'SessionId=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
      expect(res.json()).toMatchObject({ error: { code: 'not_found', message: expect.stringContaining('[REDACTED]') } });
      expect(res.text).not.toContain(TEST_WEBHOOK_SECRET);
    }
  });

  it('answers 400 naming the field for a session id or number no report has, and stores nothing', async () => {
    // Not compressible (PostgreSQL compresses a repeated character below its index-row limit).
    const noise = (n: number): string => Array.from({ length: n }, (_, i) => ((i * 7919 + ((i * i) % 97)) % 36).toString(36)).join('');
    const post = (fields: Record<string, string>) =>
      http('POST', `${api.url}/webhooks/dlr/${TEST_WEBHOOK_SECRET}`, {
        token: null,
        body: new URLSearchParams(fields).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    const longSession = await post({ SessionId: noise(6000), SmsTo: '919800000000', SmsStatus: 'DELIVERED' });
    expect(longSession.status).toBe(400);
    expect(longSession.json()).toMatchObject({ error: { code: 'validation', field: 'SessionId' } });
    const longPhone = await post({ SessionId: 'sess-long-phone', SmsTo: noise(6000), SmsStatus: 'DELIVERED' });
    expect(longPhone.status).toBe(400);
    expect(longPhone.json()).toMatchObject({ error: { code: 'validation', field: 'SmsTo' } });
    const parked = await env.container().pg.query(`SELECT 1 FROM early_delivery_reports WHERE session_id = 'sess-long-phone'`);
    expect(parked.rowCount).toBe(0);
  });

  it('takes callbacks at every WEBHOOK_SECRET the configuration accepts: its punctuation and its 100 characters', async () => {
    const { loadConfig } = await import('../../../src/config');
    const { createContainer } = await import('../../../src/container');
    const { createLogger } = await import('../../../src/logger');
    for (const secret of ["Az09-._~!$&'()*+,;=:@" + 'p'.repeat(79), 'h'.repeat(100)]) {
      const c = createContainer({ config: loadConfig({ ...env.env, WEBHOOK_SECRET: secret }), logger: createLogger({ level: 'silent' }) });
      const services = stubServices();
      const second = await startApi(c, services, { dashboard: false });
      try {
        const res = await http('POST', `${second.url}/webhooks/dlr/${secret}`, {
          token: null, body: 'SessionId=s&SmsTo=919800000000&SmsStatus=DELIVERED', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        expect({ secret, status: res.status, callbacks: services.callbacks.length }).toEqual({ secret, status: 200, callbacks: 1 });
      } finally {
        await second.close();
        await c.close();
      }
    }
  });

  it('returns 404 for the webhook when WEBHOOK_SECRET is not configured', async () => {
    const { WEBHOOK_SECRET: _unused, ...rest } = env.env;
    const { loadConfig } = await import('../../../src/config');
    const { createContainer } = await import('../../../src/container');
    const { createLogger } = await import('../../../src/logger');
    const c = createContainer({ config: loadConfig(rest), logger: createLogger({ level: 'silent' }) });
    const second = await startApi(c, stubServices(), { dashboard: false });
    try {
      const res = await http('POST', `${second.url}/webhooks/dlr/${TEST_WEBHOOK_SECRET}`, {
        token: null, body: 'SessionId=x', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(res.status).toBe(404);
    } finally {
      await second.close();
      await c.close();
    }
  });
});
