import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FormData } from 'undici';
import { useTestEnv } from '../../helpers/env';
import { stubServices } from '../../helpers/api-services';
import { INTERNAL_FAILURE, importContacts } from '../../../src/import/import-contacts';
import { loadConfig } from '../../../src/config';
import { createContainer } from '../../../src/container';
import { createLogger } from '../../../src/logger';
import { ABANDONED_IMPORT_REASON, claimListName } from '../../../src/import/list-store';
import { TEST_API_TOKEN, http, startApi, type RunningApi } from '../../helpers/api-server';
import { heldUpload } from '../../helpers/held-upload';
import { SHUTTING_DOWN } from '../../../src/api/routes/lists';
import { createToken } from '../../../src/access/tokens';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });
const fixture = (name: string) => readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'api', name));
const MAX_UPLOAD = 4096;

function form(fields: Record<string, string>, file?: { name: string; content: Buffer | string }): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  if (file) fd.append('file', new Blob([file.content], { type: 'text/csv' }), file.name);
  return fd;
}

describe('POST /api/lists (streaming CSV upload)', () => {
  let api: RunningApi;
  beforeAll(async () => {
    // The real importer (src/import); nothing else is needed here.
    api = await startApi(env.container(), { ...stubServices(), importContacts }, { maxUploadBytes: MAX_UPLOAD, dashboard: false });
  });
  afterAll(() => api.close());

  it('imports the CSV and returns the import result', async () => {
    const res = await http('POST', `${api.url}/api/lists`, {
      body: form({ name: 'customers', country: 'in' }, { name: 'contacts.csv', content: fixture('contacts.csv') }),
    });
    expect(res.status).toBe(201);
    const body = res.json<{ listId: string; rows: number; accepted: number; rejected: number }>();
    expect(body).toMatchObject({ rows: 3, accepted: 2, rejected: 1 });
    expect(await env.container().prisma.contact.count({ where: { listId: body.listId } })).toBe(2);
    const metrics = await http('GET', `${api.url}/metrics`);
    expect(metrics.text).toMatch(/^bulksms_import_rows_total\{result="rejected"\} [1-9]/m);
    const lists = (await http('GET', `${api.url}/api/lists`)).json<{ items: { name: string; accepted: number }[] }>();
    expect(lists.items).toEqual([expect.objectContaining({ name: 'customers', accepted: 2 })]);
  });

  it('serves the row report of an upload: line, column and reason of each rejected row, numbers masked', async () => {
    const csv = 'phone,name\n9876543210,Asha\n12345,Short Number\n"+91 98765 4321x",Typo\n9876543211,Ravi\n';
    const res = await http('POST', `${api.url}/api/lists`, { body: form({ name: 'with-rejects' }, { name: 'rejects.csv', content: csv }) });
    expect(res.status).toBe(201);
    const body = res.json<{ listId: string; rejected: number; rejectReportUrl: string | null; rejectReport?: unknown }>();
    expect(body.rejected).toBe(2);
    expect(body.rejectReportUrl).toBe(`/api/lists/${body.listId}/rejects.csv`);
    expect(body).not.toHaveProperty('rejectReport'); // the server's own path is no business of the client

    const report = await http('GET', `${api.url}${body.rejectReportUrl}`);
    expect(report.status).toBe(200);
    expect(report.headers['content-type']).toMatch(/^text\/csv/);
    const lines = report.text.trim().split('\n');
    expect(lines[0]).toBe('source_line,raw_row,column,reason');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['3', '4']);
    expect(lines.slice(1).every((l) => /,phone,/.test(l))).toBe(true);
    // The static API token is not an owner with an OTP grant: the rows' numbers are masked, names are not.
    expect(report.text).toContain('Short Number');
    expect(report.text).not.toContain('12345');
    expect(report.text).not.toContain('98765 432');

    const lists = (await http('GET', `${api.url}/api/lists`)).json<{ items: Record<string, unknown>[] }>();
    const listed = lists.items.find((l) => l.name === 'with-rejects')!;
    expect(listed.rejectReportUrl).toBe(body.rejectReportUrl);
    expect(lists.items.every((l) => !('rejectReportPath' in l))).toBe(true);
  });

  it('shows a list whose importer is gone as failed, and one still being imported as importing', async () => {
    const pg = env.container().pg;
    const { rows } = await pg.query<{ id: string; name: string }>(
      `INSERT INTO contact_lists (name, status) VALUES ('abandoned', 'importing'), ('in-progress', 'importing') RETURNING id, name`,
    );
    // A report the killed importer had started (raw rows), no list pointing at it: removed once the list is failed.
    const abandonedId = rows.find((r) => r.name === 'abandoned')!.id;
    const leftover = path.resolve(env.config.REPORTS_DIR, `import-${abandonedId}-rejects.csv`);
    mkdirSync(path.dirname(leftover), { recursive: true });
    writeFileSync(leftover, 'source_line,raw_row,column,reason\n2,"Asha,98765",phone,invalid number (too short): 98765\n');
    const importer = await pg.connect();
    const claim = await claimListName(importer, 'in-progress');
    try {
      const lists = (await http('GET', `${api.url}/api/lists`)).json<{ items: { name: string; status: string; failureReason: string | null }[] }>();
      const byName = Object.fromEntries(lists.items.map((l) => [l.name, [l.status, l.failureReason]]));
      expect(byName.abandoned).toEqual(['failed', ABANDONED_IMPORT_REASON]);
      expect(byName['in-progress']).toEqual(['importing', null]);
      expect(existsSync(leftover)).toBe(false);
    } finally {
      await claim?.release();
      importer.release();
      await pg.query(`DELETE FROM contact_lists WHERE name IN ('abandoned', 'in-progress')`);
    }
  });

  it('pages the list index newest first with a cursor: every list once, however many, and a campaign cursor is refused', async () => {
    const { prisma } = env.container();
    const at = Date.now() - 3_600_000;
    // Two share a created_at: the id breaks the tie, so a page boundary between them loses neither.
    await Promise.all([0, 1, 1, 2, 3].map((ms, i) =>
      prisma.contactList.create({ data: { name: `paged-${i}`, status: 'ready', createdAt: new Date(at + ms) } })));
    const expected = (await prisma.contactList.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], select: { id: true } })).map((l) => l.id);
    type Page = { items: { id: string }[]; nextCursor: string | null };
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await http('GET', `${api.url}/api/lists?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page: Page = res.json<Page>();
      seen.push(...page.items.map((l) => l.id));
      cursor = page.nextCursor;
    } while (cursor && seen.length <= expected.length);
    expect(seen).toEqual(expected);
    const campaignCursor = Buffer.from(`c:${at}:${expected[0]}:000000000000`).toString('base64url');
    const bad = await http('GET', `${api.url}/api/lists?cursor=${campaignCursor}`);
    expect({ status: bad.status, field: bad.json<{ error: { field?: string } }>().error.field }).toEqual({ status: 400, field: 'cursor' });
  });

  it('answers 404 for the row report of a list without rejects, of an unknown list, and of a report gone from disk', async () => {
    const clean = await http('POST', `${api.url}/api/lists`, { body: form({ name: 'no-rejects' }, { name: 'ok.csv', content: 'phone\n9876543210\n' }) });
    const { listId, rejectReportUrl } = clean.json<{ listId: string; rejectReportUrl: string | null }>();
    expect(rejectReportUrl).toBeNull();
    expect((await http('GET', `${api.url}/api/lists/${listId}/rejects.csv`)).status).toBe(404);
    expect((await http('GET', `${api.url}/api/lists/00000000-0000-4000-8000-000000000000/rejects.csv`)).status).toBe(404);
    const gone = await http('POST', `${api.url}/api/lists`, { body: form({ name: 'report-gone' }, { name: 'bad.csv', content: 'phone\n123\n9876543210\n' }) });
    const goneList = gone.json<{ listId: string }>();
    const { rejectReportPath } = (await env.container().prisma.contactList.findUniqueOrThrow({ where: { id: goneList.listId } }));
    rmSync(rejectReportPath!);
    const res = await http('GET', `${api.url}/api/lists/${goneList.listId}/rejects.csv`);
    expect(res.status).toBe(404);
    expect(res.text).toMatch(/no longer on the server/);
  });

  it.each([
    ['a little', 400],
    ['far', 40_000],
  ])('answers 413 for an upload %s over the limit and imports nothing', async (_label, lines) => {
    const big = `phone,name\n${'9876543210,Somebody with a long name\n'.repeat(lines)}`;
    expect(big.length).toBeGreaterThan(MAX_UPLOAD);
    const res = await http('POST', `${api.url}/api/lists`, {
      body: form({ name: `too-big-${lines}` }, { name: 'big.csv', content: big }),
    });
    expect(res.status).toBe(413);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('payload_too_large');
    const leftovers = await env.container().prisma.contactList.findMany({ where: { name: `too-big-${lines}` } });
    // The importer keeps a `failed` list naming the reason, with no contacts.
    expect(leftovers.map((l) => [l.status, l.failureReason])).toEqual([['failed', expect.stringContaining('exceeds the limit')]]);
    expect(await env.container().prisma.contact.count({ where: { listId: leftovers[0]!.id } })).toBe(0);
    // The server is still healthy after abandoning the stream mid-way.
    expect((await http('GET', `${api.url}/api/lists`)).status).toBe(200);
  });

  it('a failure of the server itself (REPORTS_DIR unusable) says so without its paths, to the uploader and in the list', async () => {
    const reportsDir = '/dev/null/bulksms-reports';
    const c = createContainer({ config: loadConfig({ ...env.env, REPORTS_DIR: reportsDir }), logger: createLogger({ level: 'silent' }) });
    const second = await startApi(c, { ...stubServices(), importContacts }, { dashboard: false });
    try {
      // A rejected row makes the importer open its row report under REPORTS_DIR.
      const res = await http('POST', `${second.url}/api/lists`, { body: form({ name: 'reports-dir-broken' }, { name: 'r.csv', content: 'phone\n123\n9876543210\n' }) });
      const listed = (await http('GET', `${second.url}/api/lists`)).json<{ items: { name: string; status: string; failureReason: string }[] }>();
      const list = listed.items.find((l) => l.name === 'reports-dir-broken');
      expect({ status: res.status, list: [list?.status, list?.failureReason] }).toEqual({ status: 503, list: ['failed', INTERNAL_FAILURE] });
      for (const text of [res.text, JSON.stringify(listed)]) expect(text).not.toMatch(/ENOTDIR|\/dev\/null/);
    } finally {
      await second.close();
      await c.close();
    }
  });

  it('masks the numbers a failed list’s reason quotes from its file (no header: the first row is a recipient)', async () => {
    const res = await http('POST', `${api.url}/api/lists`, { body: form({ name: 'headerless' }, { name: 'h.csv', content: 'Ravi Kumar,+91 98765 43210\nJohn,9876543211\n' }) });
    expect(res.status).toBe(400);
    const listed = (await http('GET', `${api.url}/api/lists`)).json<{ items: { name: string; failureReason: string }[] }>();
    const reason = listed.items.find((l) => l.name === 'headerless')?.failureReason;
    expect(reason).toContain('"+** ***** *3210"');
    expect(reason).not.toMatch(/98765/);
  });

  it('GET /api/lists/:id answers one list as the index shows it, with its columns and phone column, to a viewer too; 404 / 400 otherwise', async () => {
    const csv = 'Mobile,First Name,city\n9876543210,Asha,Pune\n12345,Short,Delhi\n';
    const created = await http('POST', `${api.url}/api/lists`, { body: form({ name: 'one-list' }, { name: 'one.csv', content: csv }) });
    const { listId } = created.json<{ listId: string }>();
    const viewer = (await createToken(env.container(), { role: 'viewer' })).token;
    const res = await http('GET', `${api.url}/api/lists/${listId}`, { token: viewer });
    expect(res.status).toBe(200);
    const indexed = (await http('GET', `${api.url}/api/lists`)).json<{ items: { id: string }[] }>().items.find((l) => l.id === listId);
    expect(res.json()).toEqual(indexed);
    expect(res.json()).toMatchObject({
      id: listId, name: 'one-list', status: 'ready', sourceFile: 'one.csv', phoneColumn: 'Mobile', columns: ['first_name', 'city'],
      rows: 2, accepted: 1, rejected: 1, rejectReportUrl: `/api/lists/${listId}/rejects.csv`,
    });
    expect(res.json()).not.toHaveProperty('rejectReportPath');
    // A failed list's reason quotes its file: masked here as in the index.
    await http('POST', `${api.url}/api/lists`, { body: form({ name: 'one-headerless' }, { name: 'h.csv', content: 'Ravi Kumar,+91 98765 43210\n' }) });
    const { id: failedId } = await env.container().prisma.contactList.findUniqueOrThrow({ where: { name: 'one-headerless' } });
    const failed = (await http('GET', `${api.url}/api/lists/${failedId}`)).json<{ status: string; failureReason: string }>();
    expect(failed.status).toBe('failed');
    expect(failed.failureReason).toContain('"+** ***** *3210"');
    const unknown = await http('GET', `${api.url}/api/lists/00000000-0000-4000-8000-000000000000`);
    expect({ status: unknown.status, code: unknown.json<{ error: { code: string } }>().error.code }).toEqual({ status: 404, code: 'not_found' });
    // By id only: a list's name in the URL is a 400 naming `id`, not a look-up by name.
    const byName = await http('GET', `${api.url}/api/lists/one-list`);
    expect({ status: byName.status, field: byName.json<{ error: { field?: string } }>().error.field }).toEqual({ status: 400, field: 'id' });
  });

  it('answers 400 with the importer’s reason for a bad CSV', async () => {
    const res = await http('POST', `${api.url}/api/lists`, {
      body: form({ name: 'bad' }, { name: 'broken.csv', content: fixture('unclosed-quote.csv') }),
    });
    expect(res.status).toBe(400);
    const { error } = res.json<{ error: { code: string; message: string } }>();
    expect(error.code).toBe('validation');
    expect(error.message).toMatch(/^broken\.csv, line 3, column "name": /);
    const empty = await http('POST', `${api.url}/api/lists`, {
      body: form({ name: 'empty' }, { name: 'empty.csv', content: 'phone,name\n' }),
    });
    expect(empty.status).toBe(400);
    expect(empty.json<{ error: { message: string } }>().error.message).toMatch(/empty\.csv.*no data rows/);
    expect(await env.container().prisma.contactList.count({ where: { name: { in: ['bad', 'empty'] }, status: 'ready' } })).toBe(0);
  });

  it('answers 400 naming an unknown field before the file and imports nothing (many of them dropped the list name)', async () => {
    const junk = Object.fromEntries(Array.from({ length: 25 }, (_v, i) => [`extra${i}`, 'x']));
    for (const [label, fields] of [['one', { name: 'with-extra', note: 'x' }], ['many', { ...junk, name: 'with-extra' }]] as const) {
      const res = await http('POST', `${api.url}/api/lists`, { body: form(fields, { name: 'ok.csv', content: 'phone\n9876543210\n' }) });
      const error = res.json<{ error?: { code: string; field?: string } }>().error;
      expect({ label, status: res.status, code: error?.code, field: error?.field }).toEqual({ label, status: 400, code: 'validation', field: label === 'one' ? 'note' : 'extra0' });
    }
    expect(await env.container().prisma.contactList.count({ where: { name: 'with-extra' } })).toBe(0);
  });

  it.each([
    ['name', { name: ['twice-a', 'twice-b'] }],
    ['phoneColumn', { name: ['twice-c'], phoneColumn: ['phone', 'name'] }],
  ])('answers 400 for a field given twice (%s) and imports nothing, instead of taking the last one', async (field, values) => {
    const fd = new FormData();
    for (const [k, vs] of Object.entries(values)) for (const v of vs) fd.append(k, v);
    fd.append('file', new Blob(['name,phone\nAsha,9876543210\n'], { type: 'text/csv' }), 'twice.csv');
    const res = await http('POST', `${api.url}/api/lists`, { body: fd });
    expect(res.status).toBe(400);
    expect(res.json<{ error: { field: string; message: string } }>().error).toMatchObject({ field, message: expect.stringContaining('more than once') });
    expect(await env.container().prisma.contactList.count({ where: { name: { startsWith: 'twice-' } } })).toBe(0);
  });

  it('answers 400 naming the missing field', async () => {
    const noName = await http('POST', `${api.url}/api/lists`, {
      body: form({}, { name: 'contacts.csv', content: fixture('contacts.csv') }),
    });
    expect(noName.status).toBe(400);
    expect(noName.json<{ error: { field: string } }>().error.field).toBe('name');
    const noFile = await http('POST', `${api.url}/api/lists`, { body: form({ name: 'x' }) });
    expect(noFile.status).toBe(400);
    expect(noFile.json<{ error: { field: string } }>().error.field).toBe('file');
    const badCountry = await http('POST', `${api.url}/api/lists`, {
      body: form({ name: 'y', country: 'India' }, { name: 'contacts.csv', content: fixture('contacts.csv') }),
    });
    expect(badCountry.status).toBe(400);
    expect(badCountry.json<{ error: { field: string } }>().error.field).toBe('country');
    const notMultipart = await http('POST', `${api.url}/api/lists`, { json: { name: 'z' } });
    expect(notMultipart.status).toBe(400);
  });

  it('names the form field, never a CLI option, when the phone column is missing or ambiguous', async () => {
    const upload = (fields: Record<string, string>, content: string) =>
      http('POST', `${api.url}/api/lists`, { body: form(fields, { name: 'people.csv', content }) });
    const none = await upload({ name: 'no-phone' }, 'name,email\nAsha,a@example.com\n');
    expect(none.status).toBe(400);
    expect(none.json<{ error: { message: string } }>().error.message).toMatch(/; name it phone\/mobile\/msisdn or pass phoneColumn$/);
    const ambiguous = await upload({ name: 'two-phones', phoneColumn: 'contact no!' }, 'Contact No,Contact-No.,name\n9876543210,9876543211,A\n');
    expect(ambiguous.status).toBe(400);
    const { error } = ambiguous.json<{ error: { message: string; field?: string } }>();
    expect(error.field).toBe('phoneColumn');
    expect(error.message).toMatch(/^people\.csv, line 1, column "contact no!": phoneColumn "contact no!" matches several columns/);
  });

  it.each([
    ['a field after the file', (fd: FormData) => fd.append('country', 'US'), 'country'],
    ['a second file', (fd: FormData) => fd.append('file', new Blob(['phone\n9876543211\n']), 'b.csv'), 'file'],
    ['a file under another name', (fd: FormData) => fd.append('other', new Blob(['phone\n9876543211\n']), 'b.csv'), 'file'],
  ])('answers 400 for %s and imports nothing; the same name then imports', async (label, append, field) => {
    const name = `trailing-${label.replace(/ /g, '-')}`;
    const fd = form({ name }, { name: 'mixed.csv', content: 'mobile,home\n9175551234,2125550000\n' });
    append(fd);
    const res = await http('POST', `${api.url}/api/lists`, { body: fd });
    expect({ label, status: res.status }).toEqual({ label, status: 400 });
    expect(res.json<{ error: { field: string } }>().error.field).toBe(field);
    const { rows } = await env.container().pg.query(
      `SELECT l.status, count(c.id)::int AS contacts FROM contact_lists l LEFT JOIN contacts c ON c.list_id = l.id WHERE l.name = $1 GROUP BY l.status`,
      [name],
    );
    expect(rows).toEqual([{ status: 'failed', contacts: 0 }]);
    const retry = await http('POST', `${api.url}/api/lists`, {
      body: form({ name, country: 'US', phoneColumn: 'home' }, { name: 'mixed.csv', content: 'mobile,home\n9175551234,2125550000\n' }),
    });
    expect(retry.status).toBe(201);
    const stored = await env.container().pg.query(`SELECT c.phone FROM contacts c JOIN contact_lists l ON l.id = c.list_id WHERE l.name = $1`, [name]);
    expect(stored.rows).toEqual([{ phone: '+12125550000' }]);
  });

  it('rejects an upload without the token before reading it', async () => {
    const res = await http('POST', `${api.url}/api/lists`, {
      token: null,
      body: form({ name: 'anon' }, { name: 'contacts.csv', content: fixture('contacts.csv') }),
    });
    expect(res.status).toBe(401);
    expect(await env.container().prisma.contactList.count({ where: { name: 'anon' } })).toBe(0);
  });
});

describe('POST /api/lists while the server is told to stop', () => {
  it('an upload still arriving is ended at once: 503 saying why, its list failed, and the close does not wait for the file', async () => {
    // A long idle time: only the shutdown may end this upload.
    const api = await startApi(env.container(), { ...stubServices(), importContacts }, { dashboard: false, uploadIdleMs: 60_000 });
    // The rest of the file never comes (a slow uploader): it would only end with the idle time.
    const { answer, stop } = heldUpload(
      api.url,
      '--B\r\nContent-Disposition: form-data; name="name"\r\n\r\nat-shutdown\r\n--B\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nphone,name\n9876543210,Asha\n',
    );
    try {
      const status = async () => (await env.container().prisma.contactList.findUnique({ where: { name: 'at-shutdown' } }))?.status;
      for (let i = 0; i < 100 && (await status()) !== 'importing'; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await status()).toBe('importing');
      const closing = api.close().then(() => 'closed');
      const waited = new Promise((r) => setTimeout(() => r('still waiting for the upload'), 5000));
      expect(await Promise.race([closing, waited])).toBe('closed');
      const res = await answer;
      expect(res.status).toBe(503);
      expect(res.text).toContain(SHUTTING_DOWN);
      const list = await env.container().prisma.contactList.findUnique({ where: { name: 'at-shutdown' } });
      expect({ status: list?.status, reason: list?.failureReason }).toEqual({ status: 'failed', reason: SHUTTING_DOWN });
    } finally {
      stop();
      await api.close();
    }
  }, 30_000);
});
