/**
 * The OpenAPI document at /docs/json as an integrator reads it: every answer the server really gives (success and
 * each kind of refusal) must be a status the document lists for that operation, with a body its schema accepts.
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { FormData } from 'undici';
import { useTestEnv } from '../../helpers/env';
import { wiredServices } from '../../../src/cli/commands/serve';
import { createToken } from '../../../src/access/tokens';
import { TEST_API_TOKEN, TEST_WEBHOOK_SECRET, http, startApi, type HttpResult, type RunningApi } from '../../helpers/api-server';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET });

interface Operation {
  requestBody?: { required?: boolean };
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
}
interface OpenApiDoc {
  info: { description?: string };
  paths: Record<string, Record<string, Operation>>;
}

interface Schema {
  properties?: Record<string, Schema>;
  items?: Schema;
}

/** Fields of a real answer that its schema's `properties` do not name (as `a.b[].c`), at any depth the schema describes. */
function undocumentedFields(schema: Schema, value: unknown, at = ''): string[] {
  if (Array.isArray(value)) return schema.items ? value.flatMap((v) => undocumentedFields(schema.items!, v, `${at}[]`)) : [];
  if (value === null || typeof value !== 'object' || !schema.properties) return [];
  const fields = new Set<string>();
  for (const [key, v] of Object.entries(value)) {
    const name = at ? `${at}.${key}` : key;
    const property = schema.properties[key];
    if (!property) fields.add(name);
    else undocumentedFields(property, v, name).forEach((f) => fields.add(f));
  }
  return [...fields];
}

describe('the OpenAPI document matches what the server answers', () => {
  let api: RunningApi;
  let sim: TestSimulator;
  let doc: OpenApiDoc;
  let viewer: string;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);

  beforeAll(async () => {
    sim = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: null });
    api = await startApi(env.container(), wiredServices(sim.provider()), { dashboard: false });
    const c = env.container();
    const list = await c.prisma.contactList.create({ data: { name: 'vip', status: 'ready', accepted: 1, rows: 1, columns: ['phone'], completedAt: new Date() } });
    await c.prisma.contact.create({ data: { listId: list.id, phone: '+919876543210', rawPhone: '+919876543210', sourceLine: 2, variables: {} } });
    await c.prisma.contactList.create({ data: { name: 'half', status: 'importing', columns: ['phone'] } });
    viewer = (await createToken(c, { role: 'viewer' })).token;
    doc = (await http('GET', `${api.url}/docs/json`)).json<OpenApiDoc>();
  });
  afterAll(async () => {
    await api?.close();
    await sim?.close();
  });

  /** Checks one real answer against the document's operation `method path` (path as the document spells it). */
  function conforms(method: string, path: string, res: HttpResult): void {
    const op = doc.paths[path]?.[method.toLowerCase()];
    expect({ method, path, documented: op !== undefined }).toEqual({ method, path, documented: true });
    const documented = op!.responses[String(res.status)];
    expect({ method, path, status: res.status, documented: documented !== undefined, body: documented ? undefined : res.text })
      .toEqual({ method, path, status: res.status, documented: true, body: undefined });
    const schema = documented!.content?.['application/json']?.schema;
    if (schema && String(res.headers['content-type']).startsWith('application/json')) {
      const validate = ajv.compile(schema);
      const ok = validate(res.json());
      expect({ method, path, status: res.status, errors: ok ? null : validate.errors }).toEqual({ method, path, status: res.status, errors: null });
      // Objects stay open (a new field is no break), so the schema alone accepted answers with fields it never named:
      // the campaign's `alert`, `listRejects`, a list item's `run` — the very fields the dashboard reads.
      expect({ method, path, status: res.status, undocumented: undocumentedFields(schema as Schema, res.json()) })
        .toEqual({ method, path, status: res.status, undocumented: [] });
    }
  }

  it('documents each success and refusal the campaign routes give', async () => {
    const url = api.url;
    const body = { name: 'c', list: 'vip', type: 'transactional', from: 'ACMEIN', text: 'Hi' };
    const created = await http('POST', `${url}/api/campaigns`, { json: body });
    expect(created.status).toBe(201);
    conforms('POST', '/api/campaigns', created);
    const id = created.json<{ campaignId: string }>().campaignId;
    conforms('POST', '/api/campaigns', await http('POST', `${url}/api/campaigns`, { json: { ...body, foo: 1 } }));
    conforms('POST', '/api/campaigns', await http('POST', `${url}/api/campaigns`, { json: { ...body, list: 'none' } }));
    const notReady = await http('POST', `${url}/api/campaigns`, { json: { ...body, list: 'half' } });
    expect(notReady.status).toBe(409);
    conforms('POST', '/api/campaigns', notReady);
    const huge = await http('POST', `${url}/api/campaigns`, { json: { ...body, text: 'x'.repeat(2 * 1024 * 1024) } });
    expect(huge.status).toBe(413);
    conforms('POST', '/api/campaigns', huge);
    const forbidden = await http('POST', `${url}/api/campaigns`, { json: body, token: viewer });
    expect(forbidden.status).toBe(403);
    conforms('POST', '/api/campaigns', forbidden);
    conforms('POST', '/api/campaigns', await http('POST', `${url}/api/campaigns`, { json: body, token: null }));
    // Bodies fastify refuses itself: documented statuses, and the API's stable codes rather than fastify's internal ones.
    const refusedBodies = [];
    for (const [contentType, text] of [['application/xml', '<c/>'], ['text/plain', '{}'], ['application/json', '{'], ['application/json', '']] as const) {
      const res = await http('POST', `${url}/api/campaigns`, { body: text, headers: { 'content-type': contentType } });
      conforms('POST', '/api/campaigns', res);
      refusedBodies.push({ contentType, text, status: res.status, code: res.json<{ error: { code: string } }>().error.code });
    }
    expect(refusedBodies).toEqual([
      { contentType: 'application/xml', text: '<c/>', status: 415, code: 'unsupported_media_type' },
      { contentType: 'text/plain', text: '{}', status: 415, code: 'unsupported_media_type' },
      { contentType: 'application/json', text: '{', status: 400, code: 'validation' },
      { contentType: 'application/json', text: '', status: 400, code: 'validation' },
    ]);

    const listed = await http('GET', `${url}/api/campaigns?limit=1`);
    conforms('GET', '/api/campaigns', listed);
    conforms('GET', '/api/campaigns', await http('GET', `${url}/api/campaigns?cursor=forged`));
    conforms('GET', '/api/campaigns', await http('GET', `${url}/api/campaigns`, { token: null }));
    conforms('GET', '/api/campaigns/{id}', await http('GET', `${url}/api/campaigns/${id}`));
    conforms('GET', '/api/campaigns/{id}', await http('GET', `${url}/api/campaigns/00000000-0000-4000-8000-000000000000`));
    conforms('GET', '/api/campaigns/{id}', await http('GET', `${url}/api/campaigns/nope`));

    const retryDraft = await http('POST', `${url}/api/campaigns/${id}/retry`);
    conforms('POST', '/api/campaigns/{id}/retry', retryDraft);
    conforms('POST', '/api/campaigns/{id}/start', await http('POST', `${url}/api/campaigns/${id}/start`, { json: {} }));
    // Started: the list's item has its `run`, the campaign its `runs`.
    conforms('GET', '/api/campaigns', await http('GET', `${url}/api/campaigns`));
    conforms('GET', '/api/campaigns/{id}', await http('GET', `${url}/api/campaigns/${id}`));
    conforms('POST', '/api/campaigns/{id}/pause', await http('POST', `${url}/api/campaigns/${id}/pause`));
    const retried = await http('POST', `${url}/api/campaigns/${id}/retry`, { json: { includeUnknown: true } });
    expect(retried.status).toBe(200);
    conforms('POST', '/api/campaigns/{id}/retry', retried);
    conforms('POST', '/api/campaigns/{id}/resume', await http('POST', `${url}/api/campaigns/${id}/resume`));
    conforms('POST', '/api/campaigns/{id}/cancel', await http('POST', `${url}/api/campaigns/${id}/cancel`));
    const startCancelled = await http('POST', `${url}/api/campaigns/${id}/start`, { json: {} });
    expect(startCancelled.status).toBe(409);
    conforms('POST', '/api/campaigns/{id}/start', startCancelled);
    conforms('POST', '/api/campaigns/{id}/pause', await http('POST', `${url}/api/campaigns/${id}/pause`));
    conforms('POST', '/api/campaigns/{id}/resume', await http('POST', `${url}/api/campaigns/${id}/resume`));
    conforms('POST', '/api/campaigns/{id}/retry', await http('POST', `${url}/api/campaigns/${id}/retry`, { json: { run: 9 } }));
    conforms('POST', '/api/campaigns/{id}/start', await http('POST', `${url}/api/campaigns/${id}/start`, { token: viewer }));

    conforms('GET', '/api/campaigns/{id}/messages', await http('GET', `${url}/api/campaigns/${id}/messages?limit=1`));
    conforms('GET', '/api/campaigns/{id}/messages', await http('GET', `${url}/api/campaigns/${id}/messages?cursor=zz`));
    conforms('GET', '/api/campaigns/{id}/failure-reasons', await http('GET', `${url}/api/campaigns/${id}/failure-reasons`));
    conforms('GET', '/api/campaigns/{id}/failures.csv', await http('GET', `${url}/api/campaigns/${id}/failures.csv`));
    conforms('GET', '/api/campaigns/{id}/failures.csv', await http('GET', `${url}/api/campaigns/${id}/failures.csv?run=7`));
  });

  it('documents the list, access, ops and webhook routes the same way', async () => {
    const url = api.url;
    conforms('GET', '/api/lists', await http('GET', `${url}/api/lists`));
    conforms('GET', '/api/lists', await http('GET', `${url}/api/lists?limit=0`));
    conforms('POST', '/api/lists', await http('POST', `${url}/api/lists`, { json: {} }));
    const fresh = new FormData();
    fresh.append('name', 'fresh');
    fresh.append('file', new Blob(['phone\n9876543210\n12\n']), 'f.csv');
    const imported = await http('POST', `${url}/api/lists`, { body: fresh });
    expect(imported.status).toBe(201);
    conforms('POST', '/api/lists', imported);
    const form = new FormData();
    form.append('name', 'vip');
    form.append('file', new Blob(['phone\n9876543210\n']), 'c.csv');
    const taken = await http('POST', `${url}/api/lists`, { body: form });
    expect(taken.status).toBe(409);
    conforms('POST', '/api/lists', taken);
    const vip = (await http('GET', `${url}/api/lists`)).json<{ items: { id: string; name: string }[] }>().items.find((l) => l.name === 'vip')!;
    const shown = await http('GET', `${url}/api/lists/${vip.id}`, { token: viewer });
    expect(shown.status).toBe(200);
    conforms('GET', '/api/lists/{id}', shown);
    conforms('GET', '/api/lists/{id}', await http('GET', `${url}/api/lists/00000000-0000-4000-8000-000000000000`));
    conforms('GET', '/api/lists/{id}', await http('GET', `${url}/api/lists/vip`));
    conforms('GET', '/api/lists/{id}', await http('GET', `${url}/api/lists/${vip.id}`, { token: null }));
    conforms('GET', '/api/lists/{id}/rejects.csv', await http('GET', `${url}/api/lists/00000000-0000-4000-8000-000000000000/rejects.csv`));
    const fresher = imported.json<{ listId: string }>().listId;
    conforms('DELETE', '/api/lists/{id}', await http('DELETE', `${url}/api/lists/${fresher}`, { token: viewer }));
    const inUse = await env.container().prisma.contactList.create({ data: { name: 'in-use', status: 'ready', columns: ['phone'] } });
    await env.container().prisma.campaign.create({ data: { name: 'draft', listId: inUse.id, type: 'transactional', sender: 'ACMEIN', text: 'Hi' } });
    const used = await http('DELETE', `${url}/api/lists/${inUse.id}`);
    expect(used.status).toBe(409);
    conforms('DELETE', '/api/lists/{id}', used);
    const deleted = await http('DELETE', `${url}/api/lists/${fresher}`);
    expect(deleted.status).toBe(200);
    conforms('DELETE', '/api/lists/{id}', deleted);
    conforms('DELETE', '/api/lists/{id}', await http('DELETE', `${url}/api/lists/${fresher}`));
    conforms('DELETE', '/api/lists/{id}', await http('DELETE', `${url}/api/lists/nope`));
    conforms('GET', '/api/access/me', await http('GET', `${url}/api/access/me`, { token: viewer }));
    conforms('POST', '/api/suppressions', await http('POST', `${url}/api/suppressions`, { json: { phone: '9876500000' } }));
    conforms('POST', '/api/suppressions', await http('POST', `${url}/api/suppressions`, { json: { phone: '12' } }));
    const suppression = '/api/suppressions/{phone}';
    conforms('GET', suppression, await http('GET', `${url}/api/suppressions/9876500000`, { token: viewer }));
    conforms('GET', suppression, await http('GET', `${url}/api/suppressions/${encodeURIComponent('+91 98765 00001')}`));
    conforms('GET', suppression, await http('GET', `${url}/api/suppressions/12`));
    conforms('GET', suppression, await http('GET', `${url}/api/suppressions/9876500000`, { token: null }));
    conforms('DELETE', suppression, await http('DELETE', `${url}/api/suppressions/9876500000?reason=mistake`, { token: viewer }));
    const removed = await http('DELETE', `${url}/api/suppressions/${encodeURIComponent('098765 00000')}?reason=mistake`);
    expect(removed.json()).toEqual({ phone: '+91******0000', removed: 1 });
    conforms('DELETE', suppression, removed);
    conforms('DELETE', suppression, await http('DELETE', `${url}/api/suppressions/9876500000`));
    conforms('DELETE', suppression, await http('DELETE', `${url}/api/suppressions/9876500000?reason=x`, { token: null }));
    // A DELETE takes no body, but fastify reads one if sent: another media type is a 415, as for a POST.
    const withBody = await http('DELETE', `${url}/api/suppressions/9876500000?reason=x`, { body: '<x/>', headers: { 'content-type': 'application/xml' } });
    expect(withBody.status).toBe(415);
    conforms('DELETE', suppression, withBody);
    conforms('GET', '/health', await http('GET', `${url}/health`));
    conforms('GET', '/metrics', await http('GET', `${url}/metrics`));
    conforms('POST', '/webhooks/dlr/{secret}', await http('POST', `${url}/webhooks/dlr/wrong`, { json: { a: '1' } }));
    conforms('POST', '/webhooks/dlr/{secret}', await http('POST', `${url}/webhooks/dlr/${TEST_WEBHOOK_SECRET}`, { json: {} }));
  });

  it('gives each operation one success status (no GET documented as 201 Created) and states the body limits', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const successes = Object.keys(op.responses).filter((s) => s.startsWith('2'));
        const expected = method === 'post' && (path === '/api/campaigns' || path === '/api/lists') ? ['201'] : ['200'];
        expect({ method, path, successes }).toEqual({ method, path, successes: expected });
      }
    }
    expect(doc.info.description).toMatch(/1048576 bytes.*32 levels/);
  });

  it('documents the answer to a failure of the server itself (500, code internal)', async () => {
    // A service failing in a way nobody foresaw: the answer must still be one the document describes.
    const failing = await startApi(env.container(), { ...wiredServices(sim.provider()), createCampaign: () => Promise.reject(new Error('boom')) }, { dashboard: false });
    try {
      const res = await http('POST', `${failing.url}/api/campaigns`, { json: { name: 'c', list: 'vip', type: 'transactional', from: 'ACMEIN', text: 'Hi' } });
      expect({ status: res.status, code: res.json<{ error: { code: string } }>().error.code }).toEqual({ status: 500, code: 'internal' });
      conforms('POST', '/api/campaigns', res);
    } finally {
      await failing.close();
    }
  });

  it('requires a body only where the server does: every lifecycle action answers a POST without one', async () => {
    const c = env.container();
    const list = await c.prisma.contactList.findFirstOrThrow({ where: { name: 'vip' } });
    const { id } = await c.prisma.campaign.create({ data: { name: 'bodiless', listId: list.id, type: 'transactional', sender: 'ACMEIN', text: 'Hi' } });
    const shown = [];
    for (const action of ['start', 'pause', 'retry', 'resume', 'cancel']) {
      const res = await http('POST', `${api.url}/api/campaigns/${id}/${action}`);
      expect({ action, status: res.status }).toEqual({ action, status: 200 });
      shown.push({ action, required: doc.paths[`/api/campaigns/{id}/${action}`]!.post!.requestBody?.required ?? false });
    }
    expect(shown).toEqual(['start', 'pause', 'retry', 'resume', 'cancel'].map((action) => ({ action, required: false })));
  });

  it('states the fields of each JSON success body (not just "an object"), so a client can be generated from it', () => {
    const vague: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (path === '/metrics') continue;
        const [success] = Object.entries(op.responses).filter(([s]) => s.startsWith('2'));
        const schema = Object.values(success![1].content ?? {})[0]?.schema as { type?: string; properties?: object } | undefined;
        if (!schema || (schema.type === 'object' && !schema.properties)) vague.push(`${method} ${path}`);
      }
    }
    expect(vague).toEqual([]);
  });
});
