import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createCampaign, type CreateCampaignInput } from '../../../src/campaign/campaign-service';
import { startCampaign } from '../../../src/sending/campaign-control';
import { useTestEnv } from '../../helpers/env';
import { claimListName } from '../../../src/import/list-store';
import { manyContacts, seedList } from '../../fixtures/seed-list';

const env = useTestEnv();
const run = promisify(execFile);
const BIN = path.join(__dirname, '../../../bin/bulksms.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...env.env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const base: CreateCampaignInput = { name: 'c', list: 'customers', type: 'transactional', from: 'TFCTOR', text: 'Hello {{name}}' };

beforeAll(async () => {
  const pg = env.container().pg;
  await seedList(pg, 'customers', ['name', 'order_id'], [
    { phone: '+919876500001', vars: { name: 'Asha', order_id: 'A1' } },
    { phone: '+919876500002', vars: { name: 'राहुल', order_id: 'A2' } }, // Hindi name: that message is UCS-2
    { phone: '+919876500003', vars: { name: 'B'.repeat(200), order_id: 'A3' } }, // long name: 2 segments
    { phone: '+919876500004', vars: { name: '', order_id: 'A4' } }, // empty: cannot render
    { phone: '+919876500005', vars: { name: 'Suppressed', order_id: 'A5' } },
  ]);
  await pg.query(`INSERT INTO suppressions (phone) VALUES ('+919876500005')`);
  // Being imported right now: its importer holds the name's claim.
  await seedList(pg, 'half-imported', ['name'], [], 'importing');
  const importer = await pg.connect();
  const claim = await claimListName(importer, 'half-imported');
  env.cleanup(async () => {
    await claim?.release();
    importer.release();
  });
  // Its importer was killed: nobody holds the claim.
  await seedList(pg, 'abandoned', ['name'], [], 'importing');
  await seedList(pg, 'big', ['name'], manyContacts(12_000, (i) => ({ name: `N${i}` })));
  // Exported from another tool with its merge fields unfilled: two values would be sent as they stand.
  await seedList(pg, 'merge-leftovers', ['name'], [
    { phone: '+919876500011', vars: { name: 'Asha' } },
    { phone: '+919876500012', vars: { name: '{{first_name}}' } },
    { phone: '+919876500013', vars: { name: 'Dear {#var#}' } },
  ]);
  await seedList(pg, 'old-import', ['name'], [
    { phone: '+919876500021', vars: { name: 'Asha' } },
    { phone: '+919876500022', vars: { name: 'Ravi\u0092s' } },
  ]);
});

describe('createCampaign', () => {
  it('computes per-message encoding/segments over the list and stores a draft', async () => {
    const c = env.container();
    const r = await createCampaign(c, base);
    expect(r).toMatchObject({ status: 'draft', recipients: 4, encoding: 'UCS-2', segmentsMin: 1, segmentsMax: 2, segments: 2 });
    // Asha 1 + Hindi 1 + 206 GSM chars (2) = 4 credits; the unrenderable one costs nothing (it fails).
    expect(r.credits).toBe(4);
    expect(r.warnings.join('\n')).toMatch(/1 recipient\(s\) have an empty value/);
    // Named by its line in the file and its column, as the import's report names a row: a count alone could not be found.
    expect(r.warnings.join('\n')).toMatch(/will fail instead of being sent \(line 4: \{\{name\}\} is empty\)$/m);
    const row = await c.prisma.campaign.findUniqueOrThrow({ where: { id: r.campaignId } });
    expect(row).toMatchObject({ status: 'draft', sender: 'TFCTOR', text: 'Hello {{name}}', encoding: 'UCS-2', segmentsMax: 2, credits: 4 });
  });

  it('counts no credits for recipients whose value holds a placeholder: their messages fail', async () => {
    const text = await createCampaign(env.container(), { ...base, list: 'merge-leftovers' });
    expect(text).toMatchObject({ recipients: 3, credits: 1 });
    expect(text.warnings.join('\n')).toMatch(/2 recipient\(s\) .*holding a placeholder/);
    expect(text.warnings.join('\n')).toMatch(/\(line 2: \{\{name\}\} holds a placeholder; line 3: \{\{name\}\} holds a placeholder\)$/m);
    const template = await createCampaign(env.container(), { ...base, list: 'merge-leftovers', text: undefined, template: 'T1', vars: ['name'] });
    expect(template).toMatchObject({ recipients: 3, credits: 1 });
    expect(template.warnings.join('\n')).toMatch(/\(line 2: name holds a placeholder; line 3: name holds a placeholder\)$/m);
  });

  it('warns about a value holding a control character (a list imported before the import refused them): that message fails', async () => {
    const r = await createCampaign(env.container(), { ...base, list: 'old-import' });
    expect(r).toMatchObject({ recipients: 2, credits: 1 });
    expect(r.warnings.join('\n')).toMatch(/\(line 2: \{\{name\}\} holds an invisible control character\)$/m);
    // Not counted as a UCS-2 message: it is never sent.
    expect(r.warnings.join('\n')).not.toMatch(/UCS-2/);
  });

  it('names at most 3 of the recipients that will fail, and says there are more', async () => {
    await seedList(env.container().pg, 'five-empty', ['name'], manyContacts(6, (i) => ({ name: i === 0 ? 'Asha' : '' })));
    const r = await createCampaign(env.container(), { ...base, list: 'five-empty' });
    expect(r.warnings.find((w) => /will fail/.test(w))).toMatch(
      /^5 recipient\(s\) .* \(line \d: \{\{name\}\} is empty; line \d: \{\{name\}\} is empty; line \d: \{\{name\}\} is empty, …\)$/,
    );
  });

  it.each([
    ['{{phone}} in the text', { text: 'Your number {{phone}} is registered' }],
    ['--var phone for a template', { text: undefined, template: 'T1', vars: ['phone'] }],
  ])('%s is the recipient\'s own number: counted by the estimate, filled in at start', async (_what, input) => {
    const c = env.container();
    const r = await createCampaign(c, { ...base, ...input });
    // 4 recipients (one suppressed), none unrenderable: the number is never missing.
    expect(r).toMatchObject({ recipients: 4, encoding: 'GSM-7', credits: 4 });
    await startCampaign(c, r.campaignId);
    const { rows } = await c.pg.query<{ phone: string; text: string | null; vars: string[] | null; status: string }>(
      `SELECT phone, text, vars, status::text AS status FROM messages WHERE campaign_id = $1 AND phone = '+919876500004'`,
      [r.campaignId],
    );
    expect(rows[0]).toMatchObject(
      input.text
        ? { status: 'pending', text: 'Your number +919876500004 is registered' }
        : { status: 'pending', vars: ['+919876500004'] },
    );
  });

  it('streams a list larger than one page', async () => {
    const r = await createCampaign(env.container(), { ...base, list: 'big', text: 'Hi {{name}} ^' });
    expect(r).toMatchObject({ recipients: 12_000, encoding: 'GSM-7', segmentsMin: 1, segmentsMax: 1, credits: 12_000 });
  });

  describe('the UCS-2 warning says what made the messages UCS-2', () => {
    const ucs2Warning = (warnings: string[]): string | undefined => warnings.find((w) => /need UCS-2/.test(w));

    it('characters of the text itself, each named with its code point (invisible ones by code point only)', async () => {
      const r = await createCampaign(env.container(), { ...base, text: 'It\u2019s on\u00a0\u2013 {{name}}\u2019s deal' });
      // Asha 1 + Hindi 1 + the 200-character name now 4 parts of 67 (2 of 153 in GSM-7).
      expect(r).toMatchObject({ recipients: 4, encoding: 'UCS-2', credits: 6 });
      expect(ucs2Warning(r.warnings)).toBe(
        '3 message(s) need UCS-2 (non-GSM characters): 70 characters per SMS instead of 160; the text itself has ' +
          '\u2019 (U+2019), U+00A0 (invisible), \u2013 (U+2013), outside the GSM alphabet, so every message is UCS-2',
      );
    });

    it('a text pasted with decomposed accents (e + U+0301) says so: composed, it is GSM-7', async () => {
      const r = await createCampaign(env.container(), { ...base, text: 'Cafe\u0301 offer for {{order_id}}' });
      expect(ucs2Warning(r.warnings)).toBe(
        '4 message(s) need UCS-2 (non-GSM characters): 70 characters per SMS instead of 160; the text itself has U+0301 (a combining mark), ' +
          'outside the GSM alphabet, so every message is UCS-2: its accents are written as separate combining marks (decomposed); ' +
          'composed, as é is one character, the text is GSM-7',
      );
    });

    it('else the {{column}} (or --var) whose values need it', async () => {
      const text = await createCampaign(env.container(), { ...base, text: 'Hello {{order_id}} {{ Name }}' });
      expect(ucs2Warning(text.warnings)).toMatch(/^1 message\(s\) need UCS-2 .*; caused by values of \{\{Name\}\}$/);
      const template = await createCampaign(env.container(), { ...base, text: undefined, template: 'T1', vars: ['order_id', 'name'] });
      expect(ucs2Warning(template.warnings)).toMatch(/; caused by values of name$/);
    });

    it('no UCS-2 warning for a list without recipients (it said "0 message(s) need UCS-2")', async () => {
      await seedList(env.container().pg, 'empty-ucs2', ['name'], []);
      const r = await createCampaign(env.container(), { ...base, list: 'empty-ucs2', text: 'नमस्ते, sale today' });
      expect(r.recipients).toBe(0);
      expect(ucs2Warning(r.warnings)).toBeUndefined();
    });
  });

  it('warns of a typed "\\n" (a shell keeps it as a backslash and an n), which is sent as it stands', async () => {
    const r = await createCampaign(env.container(), { ...base, text: 'Dear {{name}},\\nYour order shipped' });
    expect(r.warnings).toContain(
      'the text holds "\\n" as two characters (a backslash and n), sent as they stand: for a line break put a real one in the text ' +
        "(in bash: --text $'Dear {{name}},\\nYour order…'; the dashboard's text box takes Enter)",
    );
    const real = await createCampaign(env.container(), { ...base, text: 'Dear {{name}},\nYour order shipped' });
    expect(real.warnings.join('\n')).not.toMatch(/backslash/);
  });

  it('a literal {{ written \\{{ is counted and sent as the text it renders to, not as typed', async () => {
    const c = env.container();
    // 155 letters and a literal "}}" (two GSM extension characters, 2 septets each): 159 septets, one SMS. As typed,
    // the backslash (2 more septets) would have made it 161, two parts; the escape used to be refused as a stray }}.
    const text = `${'A'.repeat(155)}\\}}`;
    const plain = await createCampaign(c, { ...base, list: 'merge-leftovers', text });
    expect(plain).toMatchObject({ recipients: 3, encoding: 'GSM-7', segmentsMax: 1, credits: 3 });
    const personalised = await createCampaign(c, { ...base, list: 'merge-leftovers', text: `{{phone}}: use \\{{PROMO}} ${'A'.repeat(135)}` });
    // 13 (+91…) + 6 + 9 ({{PROMO}}: 4 braces × 2 + 5) + 1 + 135 = 164 septets as rendered: 2 parts each, for 3 recipients.
    expect(personalised).toMatchObject({ recipients: 3, segmentsMin: 2, segmentsMax: 2, credits: 6 });
    await startCampaign(c, personalised.campaignId);
    const { rows } = await c.pg.query<{ text: string }>(`SELECT text FROM messages WHERE campaign_id = $1 AND phone = '+919876500011'`, [personalised.campaignId]);
    expect(rows[0]!.text).toBe(`+919876500011: use {{PROMO}} ${'A'.repeat(135)}`);
  });

  it('each message of a run records its own segments, as the estimate counted them (not 1 for all)', async () => {
    const c = env.container();
    const r = await createCampaign(c, base);
    await startCampaign(c, r.campaignId, { force: true });
    const { rows } = await c.pg.query<{ phone: string; segments: number; status: string }>(
      `SELECT phone, segments, status::text AS status FROM messages WHERE campaign_id = $1 ORDER BY phone`,
      [r.campaignId],
    );
    expect(rows.map((m) => [m.phone.slice(-1), m.status, m.segments])).toEqual([
      ['1', 'pending', 1],
      ['2', 'pending', 1], // Hindi: UCS-2, still one part
      ['3', 'pending', 2], // the 200-character name
      ['4', 'failed', 0], // empty name: never sent
      ['5', 'suppressed', 1],
    ]);
    expect(rows.filter((m) => m.status === 'pending').reduce((sum, m) => sum + m.segments, 0)).toBe(r.credits);
  });

  it('warns above 6 segments', async () => {
    const r = await createCampaign(env.container(), { ...base, text: 'x'.repeat(153 * 7) });
    expect(r.segmentsMax).toBe(7);
    expect(r.credits).toBe(4 * 7); // 4 sendable recipients (one suppressed)
    expect(r.warnings.join('\n')).toMatch(/up to 7 segments/);
  });

  it('schedules with --at (IST when no zone) and --cron', async () => {
    const c = env.container();
    const now = new Date('2026-11-26T00:00:00Z');
    const at = await createCampaign(c, { ...base, at: '2026-12-01T10:30' }, { now });
    expect(at).toMatchObject({ status: 'scheduled', scheduleAt: '2026-12-01T05:00:00.000Z' });
    const cron = await createCampaign(c, { ...base, cron: '0 10 * * *' }, { now });
    expect(cron).toMatchObject({ status: 'scheduled', cron: '0 10 * * *' });
    const row = await c.prisma.campaign.findUniqueOrThrow({ where: { id: cron.campaignId } });
    expect(row).toMatchObject({ cron: '0 10 * * *', timezone: 'Asia/Kolkata' });
  });

  it('warns when a promotional cron fires outside 09:00–21:00 IST (its runs wait for 09:00)', async () => {
    const c = env.container();
    const now = new Date('2026-11-26T00:00:00Z');
    const promo = { ...base, type: 'promotional' as const, from: '123456' };
    const night = await createCampaign(c, { ...promo, cron: '0 22 * * *' }, { now });
    expect(night.warnings.join('\n')).toMatch(/firings outside it \(the first: 2026-11-26 22:00 IST\) wait for 09:00 IST/);
    const day = await createCampaign(c, { ...promo, cron: '0 10 * * *' }, { now });
    expect(day.warnings.join('\n')).not.toMatch(/09:00 and 21:00 IST/);
    // Transactional SMS are not restricted.
    const transactional = await createCampaign(c, { ...base, cron: '0 22 * * *' }, { now });
    expect(transactional.warnings.join('\n')).not.toMatch(/09:00 and 21:00 IST/);
  });

  it.each<[string, Partial<CreateCampaignInput>, RegExp]>([
    ['unknown list', { list: 'nope' }, /no contact list named or with id "nope" \(import it first\)$/],
    // A typo, or another case, names the list it most likely meant instead of sending the operator to import it again.
    ['mistyped list', { list: 'Customres' }, /no contact list named or with id "Customres" \(did you mean "customers"\?\)$/],
    ['list not ready', { list: 'half-imported' }, /"half-imported" is importing/],
    ['list whose import was killed', { list: 'abandoned' }, /"abandoned" is failed: the import stopped before it finished/],
    ['letters sender for promotional', { type: 'promotional', from: 'TFCTOR' }, /sender "TFCTOR" is not valid for a promotional/],
    ['digits sender for transactional', { from: '123456' }, /6 letters/],
    ['empty text', { text: '   ' }, /message text is empty/],
    ['unknown placeholder', { text: 'Hi {{name}} {{city}}' }, /placeholder "city" is not a column of list "customers"/],
    ['unknown --var', { text: undefined, template: 'T1', vars: ['name', 'zip'] }, /^vars column "zip" is not a column/],
    ['both text and template', { template: 'T1' }, /exactly one of text/],
    ['past --at', { at: '2020-01-01T10:00' }, /in the past/],
    ['--at with a mistyped year', { at: `${new Date().getUTCFullYear() + 36}-01-01T10:00` }, /is more than a year ahead .*check the year/],
    ['bad cron', { cron: '99 * * * *' }, /not a valid cron/],
  ])('refuses %s', async (_label, patch, message) => {
    await expect(createCampaign(env.container(), { ...base, ...patch })).rejects.toThrow(message);
  });
});

describe('bulksms campaign create (CLI)', () => {
  it('prints one JSON object with the contract keys', async () => {
    const r = await cli(['campaign', 'create', '--name', 'cli', '--list', 'customers', '--type', 'transactional', '--from', 'tfctor',
      '--template', 'ORDER_SHIPPED', '--var', 'name', '--var', 'Order ID', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ status: 'draft', recipients: 4, encoding: 'UCS-2' });
    for (const key of ['campaignId', 'recipients', 'encoding', 'segments', 'credits', 'segmentsMin', 'segmentsMax', 'warnings']) {
      expect(out).toHaveProperty(key);
    }
  });

  it('says a template campaign needs at least its credits (2Factor holds the template text); a text campaign its exact credits', async () => {
    const base = ['campaign', 'create', '--list', 'customers', '--type', 'transactional', '--from', 'TFCTOR'];
    const template = await cli([...base, '--name', 'tpl', '--template', 'ORDER_SHIPPED', '--var', 'name']);
    const text = await cli([...base, '--name', 'txt', '--text', 'Hello']);
    expect([template.code, text.code]).toEqual([0, 0]);
    expect(template.stdout).toMatch(/per message, at least \d+ credits$/m);
    expect(text.stdout).toMatch(/per message, \d+ credits$/m);
    expect(text.stdout).not.toContain('at least');
  });

  it('names the options as the operator typed them, and reports the option as `field` under --json', async () => {
    const create = (...extra: string[]) =>
      cli(['campaign', 'create', '--name', 'bad', '--list', 'customers', '--type', 'transactional', '--from', 'TFCTOR', ...extra, '--json']);
    const cases: [string[], string | undefined, RegExp][] = [
      [['--text', 'Hi', '--list', 'nope'], undefined, /^--list: no contact list named or with id "nope"/],
      [['--text', 'Hi', '--at', '2020-01-01T10:00'], 'at', /^--at: 2020-01-01 10:00 Asia\/Kolkata is in the past \(now \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? Asia\/Kolkata\)/],
      [['--text', 'Hi', '--pack', '500'], 'pack', /^--pack: 500 must be a whole number from 1 to 100$/],
      // The HTTP API's limit on a name, in the same words (it was the API's schema's only; the CLI took any length).
      [['--text', 'Hi', '--name', 'n'.repeat(201)], 'name', /^--name: must be at most 200 characters$/],
      [['--template', 'T1', '--var', 'zip'], 'var', /^--var column "zip" is not a column of list "customers"/],
      [['--text', 'Hi', '--template', 'T1'], 'template', /^give exactly one of --text \(the message body\) or --template/],
    ];
    const results = await Promise.all(cases.map(([extra]) => create(...extra)));
    results.forEach((r, i) => {
      const [, field, message] = cases[i]!;
      const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string; field?: string } };
      expect({ code: r.code, field: error.field, message: error.message }).toEqual({ code: 2, field, message: expect.stringMatching(message) });
      expect(r.stderr).toContain(`error: ${error.message}`);
    });
  });

  it('exits 2 naming the missing column', async () => {
    const r = await cli(['campaign', 'create', '--name', 'bad', '--list', 'customers', '--type', 'transactional', '--from', 'TFCTOR',
      '--text', 'Hi {{first name}}']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/placeholder "first name" is not a column of list "customers"/);
    expect(r.stdout).toBe('');
  });
});
