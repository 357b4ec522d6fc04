import { randomUUID } from 'node:crypto';
import { useTestEnv } from '../../helpers/env';
import { wiredServices } from '../../../src/cli/commands/serve';
import { startCampaignManually } from '../../../src/sending/manual-start';
import { seedCampaign } from '../../helpers/api-fixtures';
import { TEST_API_TOKEN, http, startApi, type RunningApi } from '../../helpers/api-server';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });

type ErrorBody = { error: { code: string; message: string; field?: string } };

describe('campaign routes', () => {
  let api: RunningApi;
  let sim: TestSimulator;
  let listId: string;
  beforeAll(async () => {
    // The real services, exactly as `bulksms serve` wires them; starts check the balance with the simulator.
    sim = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: null });
    api = await startApi(env.container(), wiredServices(sim.provider()), { dashboard: false });
    const c = env.container();
    const list = await c.prisma.contactList.create({ data: { name: 'vip', status: 'ready', accepted: 2, rows: 2, columns: ['phone', 'name'], completedAt: new Date() } });
    listId = list.id;
    await c.prisma.contact.createMany({
      data: ['+919876543210', '+919876543211'].map((phone, i) => ({
        listId, phone, rawPhone: phone, sourceLine: i + 2, variables: { phone, name: `N${i}` },
      })),
    });
  });
  afterAll(async () => {
    await api?.close();
    await sim?.close();
  });

  it('marks a campaign regulated (its messages kept RETENTION_REGULATED_DAYS before archive deletes them)', async () => {
    // RETENTION_REGULATED_DAYS (banking: 7 years) applies to campaigns marked regulated, and nothing could mark one:
    // a bank's messages were archived and deleted after RETENTION_DAYS like any other.
    const created = await http('POST', `${api.url}/api/campaigns`, {
      json: { name: 'Statement', list: 'vip', type: 'transactional', from: 'ACMEIN', text: 'Hi {{name}}', regulated: true },
    });
    expect([created.status, created.json<{ regulated: boolean }>().regulated]).toEqual([201, true]);
    const { campaignId } = created.json<{ campaignId: string }>();
    expect((await env.container().prisma.campaign.findUniqueOrThrow({ where: { id: campaignId } })).regulated).toBe(true);
    const plain = await http('POST', `${api.url}/api/campaigns`, { json: { name: 'Plain', list: 'vip', type: 'transactional', from: 'ACMEIN', text: 'Hi' } });
    expect([plain.status, plain.json<{ regulated: boolean }>().regulated]).toEqual([201, false]);
    const bad = await http('POST', `${api.url}/api/campaigns`, {
      json: { name: 'Bad', list: 'vip', type: 'transactional', from: 'ACMEIN', text: 'Hi', regulated: 'yes' },
    });
    expect([bad.status, bad.json<ErrorBody>().error.field]).toEqual([400, 'regulated']);
    // Shown wherever the campaign is: its page and the list (set at create, it was in neither, nor in `campaign status`).
    const plainId = plain.json<{ campaignId: string }>().campaignId;
    const detail = async (id: string) => (await http('GET', `${api.url}/api/campaigns/${id}`)).json<{ regulated: boolean }>().regulated;
    expect([await detail(campaignId), await detail(plainId)]).toEqual([true, false]);
    const listed = (await http('GET', `${api.url}/api/campaigns?limit=100`)).json<{ items: { id: string; regulated: boolean }[] }>().items;
    expect([campaignId, plainId].map((id) => listed.find((c) => c.id === id)?.regulated)).toEqual([true, false]);
  });

  it('creates, lists, starts and reports a campaign with status counts', async () => {
    const created = await http('POST', `${api.url}/api/campaigns`, {
      json: { name: 'Diwali', list: 'vip', type: 'transactional', from: 'ACMEIN', text: 'Hi {{name}}' },
    });
    expect(created.status).toBe(201);
    const { campaignId, recipients } = created.json<{ campaignId: string; recipients: number }>();
    expect(recipients).toBe(2);

    const started = await http('POST', `${api.url}/api/campaigns/${campaignId}/start`, { json: {} });
    expect(started.status).toBe(200);
    expect(started.json()).toMatchObject({ campaignId, status: 'running' });

    const one = await http('GET', `${api.url}/api/campaigns/${campaignId}`);
    expect(one.status).toBe(200);
    expect(one.json()).toMatchObject({
      id: campaignId, name: 'Diwali', listName: 'vip', status: 'running', total: 2, counts: expect.objectContaining({ pending: 2, failed: 0 }),
    });

    const all = await http('GET', `${api.url}/api/campaigns`);
    const items = all.json<{ items: { id: string; counts: Record<string, number>; total: number }[] }>().items;
    expect(items.find((i) => i.id === campaignId)).toMatchObject({ total: 2, counts: expect.objectContaining({ pending: 2 }) });
  });

  it('shows a campaign started elsewhere (the CLI, another `serve`) at the next read, in the list and on its own', async () => {
    const created = await http('POST', `${api.url}/api/campaigns`, {
      json: { name: 'Started by the CLI', list: 'vip', type: 'transactional', from: 'ACMEIN', text: 'Hi {{name}}' },
    });
    const { campaignId } = created.json<{ campaignId: string }>();
    const shown = async () => ({
      detail: (await http('GET', `${api.url}/api/campaigns/${campaignId}`)).json<{ status: string; total: number }>(),
      listed: (await http('GET', `${api.url}/api/campaigns?limit=100`)).json<{ items: { id: string; status: string; total: number }[] }>()
        .items.find((i) => i.id === campaignId),
    });
    expect(await shown()).toMatchObject({ detail: { status: 'draft', total: 0 }, listed: { status: 'draft', total: 0 } });
    // `bulksms campaign start` in another process: this server's memo of the draft's status is not told.
    await startCampaignManually(env.container(), campaignId, { balances: sim.provider() });
    expect(await shown()).toMatchObject({ detail: { status: 'running', total: 2 }, listed: { status: 'running', total: 2 } });
  });

  it('pages the campaign list newest first with a cursor: a campaign created between pages repeats and skips nothing', async () => {
    const { prisma } = env.container();
    const at = Date.now() - 60_000;
    // Two share a created_at: the id breaks the tie, so a page boundary between them loses neither.
    const seeded = await Promise.all([0, 1, 1, 2, 3].map((ms, i) =>
      prisma.campaign.create({ data: { name: `paged ${i}`, listId, type: 'transactional', sender: 'ACMEIN', text: 'Hi', createdAt: new Date(at + ms) } })));
    const expected = (await prisma.campaign.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], select: { id: true } })).map((c) => c.id);
    expect(expected).toEqual(expect.arrayContaining(seeded.map((c) => c.id)));

    type Page = { items: { id: string; counts: Record<string, number> }[]; nextCursor: string | null };
    const pageAt = async (cursor: string | null) =>
      (await http('GET', `${api.url}/api/campaigns?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json<Page>();
    const seen: string[] = [];
    let page = await pageAt(null);
    seen.push(...page.items.map((i) => i.id));
    const inserted = await prisma.campaign.create({ data: { name: 'created while paging', listId, type: 'transactional', sender: 'ACMEIN', text: 'Hi' } });
    let pages = 1;
    while (page.nextCursor) {
      page = await pageAt(page.nextCursor);
      seen.push(...page.items.map((i) => i.id));
      pages += 1;
    }
    expect(pages).toBe(Math.ceil(expected.length / 2));
    expect(seen).toEqual(expected);
    expect(seen).not.toContain(inserted.id);
    // Starting again shows it first.
    expect((await pageAt(null)).items[0]!.id).toBe(inserted.id);

    for (const cursor of ['bm90LWEtY3Vyc29y', Buffer.from('m:12').toString('base64url'), Buffer.from('c:1:not-a-uuid').toString('base64url')]) {
      const bad = await http('GET', `${api.url}/api/campaigns?cursor=${cursor}`);
      expect({ cursor, status: bad.status, field: bad.json<ErrorBody>().error.field }).toEqual({ cursor, status: 400, field: 'cursor' });
    }
    // A cursor of the drafts, passed with another status, started that list after the draft: it skipped newer ones.
    const draftCursor = (await http('GET', `${api.url}/api/campaigns?status=draft&limit=1`)).json<Page>().nextCursor!;
    const mixed = await http('GET', `${api.url}/api/campaigns?status=running&cursor=${draftCursor}`);
    expect({ status: mixed.status, field: mixed.status === 400 ? mixed.json<ErrorBody>().error.field : mixed.text }).toEqual({ status: 400, field: 'cursor' });
  });

  it('runs pause, resume, cancel and retry through the services', async () => {
    const { campaignId } = await seedCampaign(env.container(), [
      { status: 'failed', outcomeClass: 'retryable' },
      { status: 'unknown', outcomeClass: 'ambiguous' },
      { status: 'sent', outcomeClass: 'accepted' },
    ]);
    const post = (action: string, json: unknown = {}) => http('POST', `${api.url}/api/campaigns/${campaignId}/${action}`, { json });
    expect((await post('pause', { reason: 'checking template' })).json()).toMatchObject({ status: 'paused' });
    expect((await post('resume')).json()).toMatchObject({ status: 'running' });
    // Clients may POST actions without any body at all.
    const bare = await http('POST', `${api.url}/api/campaigns/${campaignId}/pause`);
    expect(bare.status).toBe(200);
    expect((await post('resume')).json()).toMatchObject({ status: 'running' });
    expect((await post('retry')).json()).toEqual({ campaignId, requeued: 1, status: 'running', archiving: 0, notRetried: { failed: 0, unknown: 1 } });
    expect((await post('retry', { includeUnknown: true })).json()).toEqual({ campaignId, requeued: 1, status: 'running', archiving: 0, notRetried: { failed: 0, unknown: 0 } });
    expect((await post('cancel')).json()).toMatchObject({ status: 'cancelled' });
  });

  it('retries the failures of one run with {run}, and of every run without it', async () => {
    const c = env.container();
    // A cron campaign after two firings, each with a failure that was certainly not sent and one of unknown outcome.
    const { campaignId, runId } = await seedCampaign(c, [
      { status: 'failed', outcomeClass: 'retryable' },
      { status: 'unknown', outcomeClass: 'ambiguous' },
    ], { status: 'completed' });
    const second = await c.prisma.campaignRun.create({ data: { campaignId, runNumber: 2, trigger: 'cron', status: 'completed', startedAt: new Date() } });
    await c.prisma.message.createMany({
      data: [
        { runId: second.id, campaignId, phone: '+919800000030', status: 'failed', outcomeClass: 'retryable' },
        { runId: second.id, campaignId, phone: '+919800000031', status: 'unknown', outcomeClass: 'ambiguous' },
      ],
    });
    const retry = (json: unknown) => http('POST', `${api.url}/api/campaigns/${campaignId}/retry`, { json });
    const pendingIn = (run: string) => c.prisma.message.count({ where: { runId: run, status: 'pending' } });

    expect((await retry({ run: 1 })).json()).toEqual({ campaignId, requeued: 1, status: 'running', archiving: 0, notRetried: { failed: 0, unknown: 1 } });
    expect([await pendingIn(runId), await pendingIn(second.id)]).toEqual([1, 0]);
    expect((await retry({ run: 2, includeUnknown: true })).json()).toEqual({ campaignId, requeued: 2, status: 'running', archiving: 0, notRetried: { failed: 0, unknown: 0 } });
    expect([await pendingIn(runId), await pendingIn(second.id)]).toEqual([1, 2]);
    // Without a run: every run's (here run 1's unknown one, the rest are pending already).
    expect((await retry({ includeUnknown: true })).json()).toEqual({ campaignId, requeued: 1, status: 'running', archiving: 0, notRetried: { failed: 0, unknown: 0 } });
    expect([await pendingIn(runId), await pendingIn(second.id)]).toEqual([2, 2]);

    const missing = await retry({ run: 3 });
    expect({ status: missing.status, message: missing.json<ErrorBody>().error.message })
      .toEqual({ status: 404, message: `campaign ${campaignId} has no run 3` });
    const zero = await retry({ run: 0 });
    expect({ status: zero.status, field: zero.json<ErrorBody>().error.field }).toEqual({ status: 400, field: 'run' });
  });

  it('takes `at` like `campaign create --at`: without a zone it is wall-clock time in `tz`', async () => {
    // A date a month ahead, written without a zone (a schedule more than a year ahead is refused).
    const day = new Date(Date.now() + 30 * 86_400_000);
    const wall = `${day.toISOString().slice(0, 10)}T10:00`;
    const create = (name: string, extra: Record<string, string>) =>
      http('POST', `${api.url}/api/campaigns`, { json: { name, list: 'vip', type: 'transactional', from: 'ACMEIN', text: 'Hi', at: wall, ...extra } });
    const tenOclockUtc = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), 10, 0);
    for (const [tz, offsetMinutes] of [['Asia/Kolkata', 330], ['UTC', 0]] as const) {
      const res = await create(`zoneless-${tz}`, { tz });
      expect(res.status).toBe(201);
      const { status, scheduleAt } = res.json<{ status: string; scheduleAt: string }>();
      expect(status).toBe('scheduled');
      expect(new Date(scheduleAt).getTime()).toBe(tenOclockUtc - offsetMinutes * 60_000);
    }
    // Without tz, the CLI's default zone (Asia/Kolkata).
    const byDefault = await create('zoneless-default', {});
    expect(new Date(byDefault.json<{ scheduleAt: string }>().scheduleAt).getTime()).toBe(tenOclockUtc - 330 * 60_000);
  });

  it('creates once per Idempotency-Key: a retry after a timeout replays the answer instead of a second (scheduled) campaign', async () => {
    const { pg } = env.container();
    const body = { name: 'idempotent', list: 'vip', type: 'transactional', from: 'ACMEIN', text: 'Hi', cron: '0 10 * * *' };
    const post = (key: string, json: unknown = body) => http('POST', `${api.url}/api/campaigns`, { json, headers: { 'idempotency-key': key } });
    const count = async () => (await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM campaigns WHERE name = 'idempotent'`)).rows[0]!.n;
    const first = await post('k-1');
    const retry = await post('k-1');
    expect([first.status, retry.status, retry.headers['idempotent-replayed']]).toEqual([201, 201, 'true']);
    expect(retry.json()).toEqual(first.json());
    expect(await count()).toBe(1);
    // Another body under the same key is a client bug, not a retry.
    const reused = await post('k-1', { ...body, cron: '0 11 * * *' });
    expect({ status: reused.status, code: reused.json<ErrorBody>().error.code }).toEqual({ status: 409, code: 'conflict' });
    // Two at once with one key: one campaign.
    const racing = await Promise.all([post('k-2'), post('k-2'), post('k-2')]);
    expect(racing.filter((r) => r.status === 201).length).toBeGreaterThanOrEqual(1);
    expect(racing.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    expect(await count()).toBe(2);
    // A refused create frees its key: the corrected request under it goes through.
    const refused = await post('k-3', { ...body, cron: 'nope' });
    expect(refused.status).toBe(400);
    expect((await post('k-3')).status).toBe(201);
    expect(await count()).toBe(3);
    // Without the key, each POST creates (as before).
    await http('POST', `${api.url}/api/campaigns`, { json: body });
    expect(await count()).toBe(4);
    const tooLong = await post('k'.repeat(201));
    expect({ status: tooLong.status, field: tooLong.json<ErrorBody>().error.field }).toEqual({ status: 400, field: 'idempotency-key' });
  });

  it('retries once per Idempotency-Key: the call repeated after a timeout does not re-queue what failed again since', async () => {
    const { pg } = env.container();
    const { campaignId } = await seedCampaign(env.container(), [
      { status: 'failed', outcomeClass: 'retryable' },
      { status: 'failed', outcomeClass: 'retryable' },
    ], { status: 'paused' });
    const retry = () => http('POST', `${api.url}/api/campaigns/${campaignId}/retry`, { json: {}, headers: { 'idempotency-key': 'r-1' } });
    const first = await retry();
    expect([first.status, first.json<{ requeued: number }>().requeued]).toEqual([200, 2]);
    // The re-sent messages failed again before the integrator's repeated call arrived.
    await pg.query(`UPDATE messages SET status = 'failed', outcome_class = 'retryable' WHERE campaign_id = $1`, [campaignId]);
    const again = await retry();
    expect([again.status, again.headers['idempotent-replayed'], again.json()]).toEqual([200, 'true', first.json()]);
    const { rows } = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE campaign_id = $1 AND status = 'failed'`, [campaignId]);
    expect(rows[0]).toEqual({ n: 2 });
  });

  it('answers 400 naming the field for invalid bodies', async () => {
    const base = { name: 'x', list: 'vip', type: 'transactional', from: 'ACMEIN', text: 'hi' };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, from: undefined }, 'from'],
      [{ ...base, type: 'marketing' }, 'type'],
      [{ ...base, packSize: 0 }, 'packSize'],
      [{ ...base, colour: 'red' }, 'colour'],
      [{ ...base, at: 'tomorrow' }, 'at'],
    ];
    for (const [json, field] of cases) {
      const res = await http('POST', `${api.url}/api/campaigns`, { json });
      expect(res.status).toBe(400);
      const { error } = res.json<ErrorBody>();
      expect({ field: error.field, code: error.code }).toEqual({ field, code: 'validation' });
      expect(error.message).toContain(field === 'from' ? "'from'" : field);
    }
    const retry = await http('POST', `${api.url}/api/campaigns/${randomUUID()}/retry`, { json: { includeUnknown: 'maybe' } });
    expect(retry.status).toBe(400);
    expect(retry.json<ErrorBody>().error.field).toBe('includeUnknown');
    const badId = await http('GET', `${api.url}/api/campaigns/not-a-uuid`);
    expect(badId.status).toBe(400);
    expect(badId.json<ErrorBody>().error.field).toBe('id');
  });

  it("names the JSON field, never a CLI option, in the campaign service's refusals", async () => {
    const base = { name: 'x', list: 'vip', type: 'transactional', from: 'ACMEIN', text: 'Hi {{name}}' };
    const cases: [Record<string, unknown>, number, string | undefined, RegExp][] = [
      [{ ...base, list: 'nope' }, 404, undefined, /^list: no contact list named or with id "nope"/],
      [{ ...base, at: '2020-01-01T10:00' }, 400, 'at', /^at: 2020-01-01 10:00 Asia\/Kolkata is in the past/],
      [{ ...base, tz: 'Mars/Olympus' }, 400, 'tz', /^tz: unknown time zone "Mars\/Olympus"/],
      [{ ...base, cron: '61 * * * *' }, 400, 'cron', /^cron: "61 \* \* \* \*" is not a valid cron expression/],
      [{ ...base, packSize: 500 }, 400, 'packSize', /^packSize: 500 must be a whole number from 1 to 100$/],
      [{ ...base, text: 'Hi {{city}}' }, 400, 'text', /^text placeholder "city" is not a column of list "vip"/],
      [{ ...base, text: undefined, template: 'T1', vars: ['zip'] }, 400, 'vars', /^vars column "zip" is not a column of list "vip"/],
      [{ ...base, template: 'T1' }, 400, 'template', /^give exactly one of text \(the message body\) or template/],
      [{ ...base, peid: '12ab' }, 400, 'peid', /^peid: "12ab" must be digits only$/],
      // The texts `campaign create` gives (with --pack, --name, --text, --template), not a schema's "body/… must …".
      [{ ...base, packSize: 0 }, 400, 'packSize', /^packSize: 0 must be a whole number from 1 to 100$/],
      [{ ...base, name: '' }, 400, 'name', /^name: a campaign name is required$/],
      [{ ...base, name: 'n'.repeat(201) }, 400, 'name', /^name: must be at most 200 characters$/],
      [{ ...base, text: '' }, 400, 'text', /^text: the message text is empty$/],
      [{ ...base, text: undefined, template: '' }, 400, 'template', /^template: the template name is empty$/],
      [{ ...base, from: '' }, 400, 'from', /^from: sender "" is not valid for a transactional campaign/],
    ];
    for (const [json, status, field, message] of cases) {
      const res = await http('POST', `${api.url}/api/campaigns`, { json });
      const { error } = res.json<ErrorBody>();
      expect({ status: res.status, field: error.field, message: error.message }).toEqual({ status, field, message: expect.stringMatching(message) });
      expect(error.message).not.toMatch(/--[a-z]/);
    }
  });

  it('answers 404 for unknown campaign ids on every campaign route', async () => {
    const id = randomUUID();
    const gets = ['', '/messages', '/failures.csv', '/failure-reasons'];
    for (const suffix of gets) {
      const res = await http('GET', `${api.url}/api/campaigns/${id}${suffix}`);
      expect({ suffix, status: res.status }).toEqual({ suffix, status: 404 });
      expect(res.json<ErrorBody>().error.code).toBe('not_found');
    }
    for (const action of ['start', 'pause', 'resume', 'cancel', 'retry']) {
      const res = await http('POST', `${api.url}/api/campaigns/${id}/${action}`, { json: {} });
      expect({ action, status: res.status }).toEqual({ action, status: 404 });
    }
    const unknownList = await http('POST', `${api.url}/api/campaigns`, {
      json: { name: 'x', list: 'no-such-list', type: 'transactional', from: 'ACMEIN', text: 'hi' },
    });
    expect(unknownList.status).toBe(404);
    expect(unknownList.json<ErrorBody>().error.message).toContain('no-such-list');
  });

  it('groups failures by reason', async () => {
    const { campaignId } = await seedCampaign(env.container(), [
      { status: 'failed', outcomeClass: 'permanent_recipient', failureReason: 'Invalid Phone Number' },
      { status: 'failed', outcomeClass: 'permanent_recipient', failureReason: 'Invalid Phone Number' },
      { status: 'unknown', outcomeClass: 'ambiguous', providerText: 'timeout after 10000 ms' },
      { status: 'delivered', outcomeClass: 'accepted' },
    ]);
    const res = await http('GET', `${api.url}/api/campaigns/${campaignId}/failure-reasons`);
    expect(res.json()).toEqual({
      items: [
        { status: 'failed', outcomeClass: 'permanent_recipient', reason: 'Invalid Phone Number', count: 2 },
        { status: 'unknown', outcomeClass: 'ambiguous', reason: 'timeout after 10000 ms', count: 1 },
      ],
      omittedMessages: 0,
    });
  });
  it('says what a retry left and why it was not retried, beside what it re-queued', async () => {
    const { campaignId } = await seedCampaign(env.container(), [
      { status: 'failed', outcomeClass: 'retryable', failureReason: 'HTTP 503 from provider' },
      { status: 'failed', outcomeClass: 'permanent_recipient', failureReason: 'Number is in DND' },
      { status: 'failed', outcomeClass: 'accepted', failureReason: 'FAILED #27' },
      { status: 'unknown', outcomeClass: 'ambiguous', failureReason: 'timeout after 10000 ms' },
      { status: 'delivered', outcomeClass: 'accepted' },
    ], { status: 'completed' });
    const retry = (json: object) => http('POST', `${api.url}/api/campaigns/${campaignId}/retry`, { json });
    const first = await retry({});
    expect({ status: first.status, body: first.json() }).toMatchObject({
      status: 200, body: { campaignId, requeued: 1, notRetried: { failed: 2, unknown: 1 } },
    });
    // With includeUnknown the unknown one goes too; the two failures no retry sends again stay, and are said again.
    expect((await retry({ includeUnknown: true })).json()).toMatchObject({ requeued: 1, notRetried: { failed: 2, unknown: 0 } });
  });

  it("groups a refusal that quotes each recipient's own number as one reason, counting every message", async () => {
    // 2Factor's texts may quote the number they refused (91XXXXXXXXXX): 150 DND refusals were 150 "reasons" of one
    // message each, of which the page showed 100 (the query's limit) and silently dropped the other 50.
    const phones = Array.from({ length: 150 }, (_, i) => `+9197${String(i).padStart(8, '0')}`);
    const { campaignId } = await seedCampaign(env.container(), [
      ...phones.map((phone) => ({
        phone, status: 'failed' as const, outcomeClass: 'permanent_recipient' as const,
        failureReason: `rejected for this recipient: Number ${phone.slice(1)} is in the DND registry`,
      })),
      { phone: '+919811111111', status: 'failed', outcomeClass: 'permanent_recipient', failureReason: 'Invalid number +919811111111' },
      // A number that is not the recipient's stays as it was (masked for this caller like any other).
      { phone: '+919822222222', status: 'failed', outcomeClass: 'permanent_recipient', failureReason: 'Invalid number +919833333333' },
    ]);
    const res = await http('GET', `${api.url}/api/campaigns/${campaignId}/failure-reasons`);
    expect(res.json()).toEqual({
      items: [
        { status: 'failed', outcomeClass: 'permanent_recipient', reason: "rejected for this recipient: Number (the recipient's number) is in the DND registry", count: 150 },
        { status: 'failed', outcomeClass: 'permanent_recipient', reason: "Invalid number (the recipient's number)", count: 1 },
        { status: 'failed', outcomeClass: 'permanent_recipient', reason: 'Invalid number +********3333', count: 1 },
      ],
      omittedMessages: 0,
    });
  });

  it('says how many messages the reasons past the 100 listed hold, instead of dropping them without a word', async () => {
    // 105 different reasons (numbers too short to be masked), one message each, and one reason of 3 messages.
    const { campaignId } = await seedCampaign(env.container(), [
      ...Array.from({ length: 105 }, (_, i) => ({ status: 'failed' as const, outcomeClass: 'retryable' as const, failureReason: `error code ${i}` })),
      ...Array.from({ length: 3 }, () => ({ status: 'unknown' as const, outcomeClass: 'ambiguous' as const, failureReason: 'timeout' })),
    ]);
    const body = (await http('GET', `${api.url}/api/campaigns/${campaignId}/failure-reasons`)).json<{ items: { count: number }[]; omittedMessages: number }>();
    const listed = body.items.reduce((n, r) => n + r.count, 0);
    expect({ rows: body.items.length, first: body.items[0], listed, omitted: body.omittedMessages })
      .toEqual({ rows: 100, first: { status: 'unknown', outcomeClass: 'ambiguous', reason: 'timeout', count: 3 }, listed: 102, omitted: 6 });
  });

  it('says which run the counts are of, and gives failures and messages of that run with ?run=N', async () => {
    const c = env.container();
    // A cron campaign after two firings: run 1 had a failure, run 2 (the latest) none.
    const { campaignId } = await seedCampaign(c, [
      { status: 'failed', outcomeClass: 'permanent_recipient', failureReason: 'DND number' },
      { status: 'delivered', outcomeClass: 'accepted' },
    ], { status: 'completed' });
    const second = await c.prisma.campaignRun.create({ data: { campaignId, runNumber: 2, trigger: 'cron', status: 'completed', startedAt: new Date() } });
    await c.prisma.message.createMany({
      data: ['+919800000010', '+919800000011'].map((phone) => ({ runId: second.id, campaignId, phone, status: 'delivered' as const, outcomeClass: 'accepted' as const })),
    });
    const get = (path: string) => http('GET', `${api.url}/api/campaigns/${campaignId}${path}`);

    const one = (await get('')).json<{ counts: Record<string, number>; runs: { runNumber: number; failed: number }[] }>();
    expect(one.counts).toMatchObject({ delivered: 2, failed: 0 });
    expect(one.runs.map((r) => [r.runNumber, r.failed])).toEqual([[1, 1], [2, 0]]);
    const row = (await http('GET', `${api.url}/api/campaigns?limit=100`)).json<{ items: { id: string; run: unknown }[] }>()
      .items.find((i) => i.id === campaignId);
    expect(row?.run).toEqual({ runNumber: 2, runCount: 2, startedAt: second.startedAt!.toISOString() });

    const dnd = { status: 'failed', outcomeClass: 'permanent_recipient', reason: 'DND number', count: 1 };
    expect((await get('/failure-reasons')).json()).toEqual({ items: [dnd], omittedMessages: 0 });
    expect((await get('/failure-reasons?run=1')).json()).toEqual({ items: [dnd], omittedMessages: 0 });
    expect((await get('/failure-reasons?run=2')).json()).toEqual({ items: [], omittedMessages: 0 });

    const phones = async (query: string) => (await get(`/messages?${query}`)).json<{ items: { phone: string }[] }>().items.length;
    expect([await phones(''), await phones('run=1'), await phones('run=2'), await phones('run=2&status=failed')]).toEqual([4, 2, 2, 0]);

    const csvLines = async (query: string) => (await get(`/failures.csv${query}`)).text.trim().split('\n').length;
    expect([await csvLines(''), await csvLines('?run=1'), await csvLines('?run=2')]).toEqual([2, 2, 1]);
    expect((await get('/failures.csv?run=2')).headers['content-disposition']).toContain(`failures-${campaignId}-run-2.csv`);

    for (const path of ['/failure-reasons?run=3', '/messages?run=3', '/failures.csv?run=3']) {
      const res = await get(path);
      expect({ path, status: res.status, message: res.json<ErrorBody>().error.message }).toEqual({ path, status: 404, message: `campaign ${campaignId} has no run 3` });
    }
    const zero = await get('/failure-reasons?run=0');
    expect({ status: zero.status, field: zero.json<ErrorBody>().error.field }).toEqual({ status: 400, field: 'run' });
  });
});
