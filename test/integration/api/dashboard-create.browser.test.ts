/**
 * The New campaign form and the campaign page's "Start anyway", in headless Chromium against the real API and the
 * real campaign services: everything `campaign create` (schedule, DLT template, DLT ids, pack size) and
 * `campaign start --force` allow must be doable from the page, with the server's refusals said next to the form.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { wiredServices } from '../../../src/cli/commands/serve';
import { createToken } from '../../../src/access/tokens';
import { useTestEnv } from '../../helpers/env';
import { TEST_API_TOKEN, startApi, type RunningApi } from '../../helpers/api-server';
import { launchBrowser, type Browser } from '../../helpers/browser';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });
const CSV = path.join(__dirname, '..', '..', 'fixtures', 'api', 'contacts.csv');

/** Tomorrow's date (YYYY-MM-DD) in `timeZone`: a time on it is in the future and well within the year `at` allows. */
function tomorrowIn(timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(Date.now() + 86_400_000));
}

describe('dashboard: create and start as the CLI can (headless Chromium, real campaign services)', () => {
  let api: RunningApi;
  let browser: Browser;
  /** What the provider's balance lookup does in the current test: a number of credits, or a failure. */
  let balance: () => Promise<number> = async () => 1_000_000;

  beforeAll(async () => {
    api = await startApi(env.container(), wiredServices({ balance: () => balance() }), { queueNames: ['send'] });
    browser = await launchBrowser();
  });
  env.cleanup(async () => {
    await browser?.close();
    await api?.close();
  });

  /** A tab signed in with `token`, showing `hash`; `dialogs` collects what confirm() asked (each accepted). */
  async function openTab(hash: string, token = TEST_API_TOKEN, dialogs: string[] = []): Promise<Page> {
    const tab = await browser.context.newPage();
    tab.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
    await tab.goto(`${api.url}/dashboard/${hash}`);
    await tab.fill('#token-input', token);
    await tab.click('#token-form button');
    return tab;
  }

  /** Fills the list and the campaign's name, type and sender; the message and the schedule are the test's. */
  async function fillBasics(tab: Page, name: string): Promise<void> {
    await tab.setInputFiles('input[name=file]', CSV);
    await tab.fill('input[name=listName]', `${name}-list`);
    await tab.fill('input[name=campaignName]', name);
    await tab.fill('input[name=from]', 'ACMEIN');
  }

  async function createdCampaign(tab: Page, name: string) {
    await tab.waitForURL(/#\/campaign\/[0-9a-f-]{36}$/, { timeout: 10_000 });
    await tab.locator('#c-name', { hasText: name }).waitFor();
    const prisma = env.container().prisma;
    const campaign = await prisma.campaign.findFirstOrThrow({ where: { name } });
    return { ...campaign, messages: await prisma.message.count({ where: { campaignId: campaign.id } }) };
  }

  it('creates a second campaign for a list already imported, without uploading it again', async () => {
    const prisma = env.container().prisma;
    await prisma.contactList.create({ data: { name: 'broken-list', status: 'failed', failureReason: 'no phone column' } });
    const tab = await openTab('#/new');
    try {
      await fillBasics(tab, 'First to reuse');
      await tab.fill('textarea[name=text]', 'Hello {{name}}');
      await tab.check('input[name=when][value=draft]');
      await tab.click('#upload-submit');
      const first = await createdCampaign(tab, 'First to reuse');

      // The form could only upload: the same people again needed the CSV under a new list name.
      await tab.evaluate("location.hash = '#/new'");
      await tab.check('input[name=listSource][value=existing]', { timeout: 5_000 });
      expect(await tab.isVisible('input[name=file]')).toBe(false);
      const offered = await tab.locator('select[name=existingList] option').allTextContents();
      expect(offered.some((o) => o.startsWith('First to reuse-list (2 recipient(s), imported '))).toBe(true);
      // Only ready lists can be used: a failed import is not offered.
      expect(offered.some((o) => o.startsWith('broken-list'))).toBe(false);
      await tab.selectOption('select[name=existingList]', first.listId);
      await tab.fill('input[name=campaignName]', 'Second to reuse');
      await tab.fill('input[name=from]', 'ACMEIN');
      await tab.fill('textarea[name=text]', 'Again {{name}}');
      await tab.check('input[name=when][value=draft]');
      await tab.click('#upload-submit');
      const second = await createdCampaign(tab, 'Second to reuse');
      expect({ listId: second.listId, status: second.status, lists: await prisma.contactList.count({ where: { name: { startsWith: 'First to reuse' } } }) })
        .toEqual({ listId: first.listId, status: 'draft', lists: 1 });
      expect(await tab.textContent('#flash')).toMatch(/^list First to reuse-list \(2 recipient\(s\), imported .*\) · campaign created \(2 recipients/);
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('schedules a campaign once at a date-time in IST, in a chosen zone, or on a cron expression', async () => {
    const tab = await openTab('#/new');
    try {
      // Once, 10:00 India time tomorrow: typed as wall-clock time, in IST by default.
      const day = tomorrowIn('Asia/Kolkata');
      await fillBasics(tab, 'At IST campaign');
      await tab.fill('textarea[name=text]', 'Hello {{name}}');
      await tab.check('input[name=when][value=at]');
      expect(await tab.inputValue('input[name=tz]')).toBe('Asia/Kolkata');
      await tab.fill('input[name=at]', `${day}T10:00`);
      await tab.click('#upload-submit');
      const ist = await createdCampaign(tab, 'At IST campaign');
      expect({ status: ist.status, scheduleAt: ist.scheduleAt?.toISOString(), timezone: ist.timezone, messages: ist.messages })
        .toEqual({ status: 'scheduled', scheduleAt: new Date(`${day}T10:00:00+05:30`).toISOString(), timezone: 'Asia/Kolkata', messages: 0 });
      await tab.locator('#c-meta', { hasText: 'sends at' }).waitFor();
      expect(await tab.textContent('#c-meta')).toMatch(/ · sends at \d+ \w+ \d{4}, 10:00:00 (IST|GMT\+5:30)$/);
      expect(await tab.textContent('#flash')).toMatch(/ · sends at \d+ \w+ \d{4}, 10:00:00 (IST|GMT\+5:30)/);

      // The same wall-clock time in another zone chosen by name.
      const tokyoDay = tomorrowIn('Asia/Tokyo');
      await tab.evaluate("location.hash = '#/new'");
      await fillBasics(tab, 'At Tokyo campaign');
      await tab.fill('textarea[name=text]', 'Hello {{name}}');
      await tab.check('input[name=when][value=at]');
      await tab.fill('input[name=at]', `${tokyoDay}T10:00`);
      await tab.fill('input[name=tz]', 'Asia/Tokyo');
      await tab.click('#upload-submit');
      const tokyo = await createdCampaign(tab, 'At Tokyo campaign');
      expect({ scheduleAt: tokyo.scheduleAt?.toISOString(), timezone: tokyo.timezone })
        .toEqual({ scheduleAt: new Date(`${tokyoDay}T10:00:00+09:00`).toISOString(), timezone: 'Asia/Tokyo' });

      // A cron schedule, chosen and typed with the keyboard only: arrows pick the radio, Tab reaches its field.
      await tab.evaluate("location.hash = '#/new'");
      await fillBasics(tab, 'Cron campaign');
      await tab.fill('textarea[name=text]', 'Hello {{name}}');
      await tab.focus('input[name=when][value=now]');
      for (let i = 0; i < 3; i++) await tab.keyboard.press('ArrowDown');
      expect(await tab.isChecked('input[name=when][value=cron]')).toBe(true);
      await tab.keyboard.press('Tab');
      expect(await tab.evaluate('document.activeElement.name')).toBe('cron');
      await tab.keyboard.type('0 11 * * 1');
      await tab.keyboard.press('Enter');
      const cron = await createdCampaign(tab, 'Cron campaign');
      expect({ status: cron.status, cron: cron.cron, timezone: cron.timezone, messages: cron.messages })
        .toEqual({ status: 'scheduled', cron: '0 11 * * 1', timezone: 'Asia/Kolkata', messages: 0 });
      await tab.locator('#c-meta', { hasText: 'every "0 11 * * 1" (cron, Asia/Kolkata)' }).waitFor();
    } finally {
      await tab.close();
    }
  }, 60_000);

  it('creates a campaign on a DLT template with its columns in order, the DLT ids and a pack size', async () => {
    const tab = await openTab('#/new');
    try {
      await fillBasics(tab, 'Template campaign');
      await tab.check('input[name=content][value=template]');
      // The free-text field is not asked for once a template is chosen.
      expect(await tab.isVisible('textarea[name=text]')).toBe(false);
      await tab.fill('input[name=template]', 'ORDER_SHIPPED');
      await tab.fill('input[name=vars]', 'name, phone');
      await tab.fill('input[name=peid]', '1101234567890123456');
      await tab.fill('input[name=ctid]', '1107123456789012345');
      await tab.fill('input[name=packSize]', '50');
      await tab.check('input[name=when][value=draft]');
      await tab.click('#upload-submit');
      const c = await createdCampaign(tab, 'Template campaign');
      expect({ status: c.status, text: c.text, templateName: c.templateName, templateVars: c.templateVars, peid: c.peid, ctid: c.ctid, packSize: c.packSize })
        .toEqual({
          status: 'draft', text: null, templateName: 'ORDER_SHIPPED', templateVars: ['name', 'phone'],
          peid: '1101234567890123456', ctid: '1107123456789012345', packSize: 50,
        });
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('an operator marks a campaign regulated from the form, as `campaign create --regulated`, and its page says so', async () => {
    const { token } = await createToken(env.container(), { role: 'operator' });
    const tab = await openTab('#/new', token);
    try {
      await fillBasics(tab, 'Bank statement');
      await tab.fill('textarea[name=text]', 'Hello {{name}}, your statement is ready');
      // A checkbox, unchecked by default: an ordinary campaign stays under RETENTION_DAYS.
      expect(await tab.isChecked('input[name=regulated]')).toBe(false);
      await tab.check('input[name=regulated]');
      await tab.check('input[name=when][value=draft]');
      await tab.click('#upload-submit');
      const c = await createdCampaign(tab, 'Bank statement');
      expect({ status: c.status, regulated: c.regulated }).toEqual({ status: 'draft', regulated: true });
      await tab.locator('#c-meta', { hasText: 'regulated' }).waitFor({ timeout: 5_000 });

      await tab.evaluate("location.hash = '#/new'");
      await fillBasics(tab, 'Plain newsletter');
      await tab.fill('textarea[name=text]', 'Hello {{name}}');
      await tab.check('input[name=when][value=draft]');
      await tab.click('#upload-submit');
      expect((await createdCampaign(tab, 'Plain newsletter')).regulated).toBe(false);
      expect(await tab.locator('#c-meta').textContent()).not.toContain('regulated');
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('says a refusal next to the form, under the field\'s label, marks and focuses that field, and shows hostile text as text', async () => {
    const tab = await openTab('#/new');
    try {
      await fillBasics(tab, 'Refused campaign');
      await tab.fill('textarea[name=text]', 'Hello {{name}}');
      await tab.check('input[name=when][value=at]');
      await tab.fill('input[name=at]', '2020-01-01T10:00');
      await tab.click('#upload-submit');
      await tab.locator('#form-error:not([hidden])').waitFor();
      expect(await tab.textContent('#form-error')).toMatch(/^Date and time: 2020-01-01 10:00 Asia\/Kolkata is in the past/);
      expect(await tab.getAttribute('input[name=at]', 'aria-invalid')).toBe('true');
      expect(await tab.evaluate('document.activeElement.name')).toBe('at');

      const hostile = '<img src=x onerror="document.title=1"> * * * *';
      await tab.check('input[name=when][value=cron]');
      await tab.fill('input[name=cron]', hostile);
      await tab.click('#upload-submit');
      await tab.locator('#form-error', { hasText: 'Cron expression: ' }).waitFor();
      expect(await tab.textContent('#form-error')).toContain(`"${hostile}"`);
      expect(await tab.locator('#form-error img').count()).toBe(0);
      // The field fixed, the error and its mark go, and the list imported by the first try is not imported again.
      expect(await tab.getAttribute('input[name=at]', 'aria-invalid')).toBeNull();
      await tab.fill('input[name=cron]', '0 11 * * 1');
      await tab.click('#upload-submit');
      await createdCampaign(tab, 'Refused campaign');
      expect(await env.container().prisma.contactList.count({ where: { name: 'Refused campaign-list' } })).toBe(1);
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('offers "Start anyway" when the credits are short or the balance cannot be read, and starts with force once confirmed', async () => {
    const dialogs: string[] = [];
    const tab = await openTab('#/new', TEST_API_TOKEN, dialogs);
    const starts: unknown[] = [];
    tab.on('request', (req) => {
      if (req.method() === 'POST' && req.url().endsWith('/start')) starts.push(req.postDataJSON());
    });
    try {
      // Credits short while creating with "Start immediately": the new campaign's page offers it on arrival.
      balance = async () => 0;
      await fillBasics(tab, 'Short campaign');
      await tab.fill('textarea[name=text]', 'Hello {{name}}');
      await tab.click('#upload-submit');
      const short = await createdCampaign(tab, 'Short campaign');
      await tab.locator('#force-start:not([hidden])').waitFor();
      expect(await tab.textContent('#force-reason')).toMatch(/not started: it needs 2 \w+ credits but the provider balance is 0 \(short by 2\)/);
      expect(await tab.evaluate('document.activeElement.id')).toBe('force-start-button');
      await tab.keyboard.press('Enter');
      await tab.locator('#c-meta .status', { hasText: 'running' }).waitFor({ timeout: 5_000 });
      expect(await tab.isVisible('#force-start')).toBe(false);
      expect(dialogs).toEqual(['Start although the balance is short? Sending stops when the credits run out.']);
      expect(starts).toEqual([{}, { force: true }]);
      expect((await env.container().prisma.campaign.findUniqueOrThrow({ where: { id: short.id } })).status).toBe('running');

      // The balance cannot be read (503): Start on the page of a draft offers it too.
      balance = async () => { throw new Error('connect ECONNREFUSED'); };
      await tab.evaluate("location.hash = '#/new'");
      await fillBasics(tab, 'Unread balance campaign');
      await tab.fill('textarea[name=text]', 'Hello {{name}}');
      await tab.check('input[name=when][value=draft]');
      await tab.click('#upload-submit');
      const unread = await createdCampaign(tab, 'Unread balance campaign');
      await tab.click('button[data-action=start]:not([disabled])');
      await tab.locator('#force-start:not([hidden])').waitFor();
      expect(await tab.textContent('#force-reason')).toContain('could not read the TRANSACTIONAL_SMS balance');
      await tab.click('#force-start-button');
      await tab.locator('#c-meta .status', { hasText: 'running' }).waitFor({ timeout: 5_000 });
      expect(dialogs[1]).toBe('Start without checking the provider balance? Sending stops if the credits run out.');
      expect(starts.slice(2)).toEqual([{}, { force: true }]);
      expect((await env.container().prisma.campaign.findUniqueOrThrow({ where: { id: unread.id } })).status).toBe('running');
    } finally {
      balance = async () => 1_000_000;
      await tab.close();
    }
  }, 60_000);

  it('offers no "Start anyway" for a refusal force cannot help, nor ever to a viewer', async () => {
    const c = env.container();
    const list = await c.prisma.contactList.create({ data: { name: 'no-force-list', status: 'ready' } });
    const draft = await c.prisma.campaign.create({ data: { name: 'No force campaign', listId: list.id, type: 'transactional', sender: 'ACMEIN', text: 'Hi' } });
    const tab = await openTab(`#/campaign/${draft.id}`);
    try {
      // Any other refusal of a start (here: the campaign was finished meanwhile) is said, with nothing to force.
      await tab.route((url) => url.pathname.endsWith('/start'), (route) =>
        route.fulfill({ status: 409, contentType: 'application/json', body: JSON.stringify({ error: { code: 'conflict', message: 'campaign is completed' } }) }));
      await tab.click('button[data-action=start]:not([disabled])');
      await tab.locator('#flash.error', { hasText: 'campaign is completed' }).waitFor();
      expect(await tab.isVisible('#force-start')).toBe(false);
    } finally {
      await tab.close();
    }
    const viewer = await openTab(`#/campaign/${draft.id}`, (await createToken(c, { role: 'viewer' })).token);
    try {
      await viewer.locator('#token-state', { hasText: 'viewer' }).waitFor({ timeout: 5_000 });
      await viewer.locator('#c-meta .status', { hasText: 'draft' }).waitFor();
      expect(await viewer.isVisible('button[data-action=start]')).toBe(false);
      // Even were the refusal box up, it holds no button for a viewer.
      await viewer.evaluate("document.getElementById('force-start').hidden = false");
      expect(await viewer.isVisible('#force-start')).toBe(true);
      expect(await viewer.isVisible('#force-start-button')).toBe(false);
    } finally {
      await viewer.close();
    }
  }, 30_000);
});
