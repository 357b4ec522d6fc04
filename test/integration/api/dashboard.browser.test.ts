/**
 * Drives the dashboard in headless Chromium against the real API: token entry, CSV upload that creates a
 * list and a campaign, the campaign page with live counts and failures by reason, and the action buttons.
 */
import path from 'node:path';
import type { Page, Route } from 'playwright-core';
import { useTestEnv } from '../../helpers/env';
import { ConflictError, ServiceError, ValidationError } from '../../../src/errors';
import { getCampaignStatus as realCampaignStatus, retryCampaign as realRetryCampaign } from '../../../src/sending/campaign-control';
import { seedCampaign } from '../../helpers/api-fixtures';
import { stubServices, type StubServices } from '../../helpers/api-services';
import { TEST_API_TOKEN, http, startApi, type RunningApi } from '../../helpers/api-server';
import { artifactPath, launchBrowser, type Browser } from '../../helpers/browser';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });
const CSV = path.join(__dirname, '..', '..', 'fixtures', 'api', 'contacts.csv');
type Doc = { getElementById(id: string): { textContent: string | null; className: string } | null };
/** Runs in the page (compiled without DOM types, hence the casts): records what the campaign name and flash show. */
function recordViews(): void {
  const g = globalThis as unknown as { document: Doc & { body: object }; seen: string[]; MutationObserver: new (cb: () => void) => { observe(n: object, o: object): void } };
  g.seen = [];
  const note = () => {
    const name = g.document.getElementById('c-name')?.textContent ?? '';
    const flash = g.document.getElementById('flash');
    g.seen.push(`${name} | ${flash?.className ?? ''}: ${flash?.textContent ?? ''}`);
  };
  new g.MutationObserver(note).observe(g.document.body, { childList: true, subtree: true, characterData: true });
}
const slowly = async (route: Route) => {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await route.continue().catch(() => undefined);
};

describe('dashboard in headless Chromium', () => {
  let api: RunningApi;
  let browser: Browser;
  let page: Page;
  const services: StubServices = stubServices();

  beforeAll(async () => {
    api = await startApi(env.container(), services, { queueNames: ['send'] });
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
  });

  it('asks for the token, then uploads a CSV, creates and starts a campaign, and drives its buttons', async () => {
    await page.goto(`${api.url}/dashboard/`);
    await page.locator('#flash.error').waitFor();
    expect(await page.textContent('#flash')).toContain('enter the API token');

    await page.fill('#token-input', TEST_API_TOKEN);
    await page.click('#token-form button');
    await page.locator('#campaigns-empty').waitFor();
    expect(await page.evaluate('localStorage.getItem("bulksms.apiToken")')).toBe(TEST_API_TOKEN);

    await page.click('a[href="#/new"]');
    await page.setInputFiles('input[name=file]', CSV);
    await page.fill('input[name=listName]', 'browser-list');
    await page.fill('input[name=campaignName]', 'Browser campaign');
    await page.fill('input[name=from]', 'ACMEIN');
    await page.fill('textarea[name=text]', 'Hello {{name}}');
    await page.click('#upload-submit');

    await page.waitForURL(/#\/campaign\/[0-9a-f-]{36}$/);
    const campaignId = page.url().split('/').pop()!;
    await page.locator('#c-count-values td[data-status=queued]', { hasText: '2' }).waitFor();
    expect(await page.textContent('#c-name')).toBe('Browser campaign');
    // One run, no schedule: there is no run to choose, so the "Showing" choice is not on the page (it was, empty).
    expect(await page.isVisible('#c-scope')).toBe(false);
    // The upload form is gone: its row report and the new campaign's numbers are still shown on the campaign page.
    expect(await page.textContent('#flash')).toBe('list imported: 2 accepted, 1 rejected, 0 duplicates, 0 suppressed · campaign created (2 recipients, 1 segment(s), ~2 credits)');
    const list = await env.container().prisma.contactList.findUnique({ where: { name: 'browser-list' } });
    expect(list).toMatchObject({ accepted: 2, rejected: 1 });

    // A send fails; the page shows it by reason and "Retry failed" re-queues it through the API.
    await env.container().prisma.message.updateMany({
      where: { campaignId, phone: '+919876543210' },
      data: { status: 'failed', outcomeClass: 'retryable', failureReason: 'HTTP 503 from provider' },
    });
    await page.locator('#c-failures td', { hasText: 'HTTP 503 from provider' }).waitFor();
    await page.click('button[data-action=retry]');
    await page.locator('#flash', { hasText: 're-queued 1 message(s)' }).waitFor();
    const requeued = await env.container().prisma.message.findFirst({ where: { campaignId, phone: '+919876543210' } });
    expect(requeued?.status).toBe('queued');

    // The message table lists both recipients; the status filter narrows it through the API.
    await page.locator('#c-messages tbody tr').nth(1).waitFor();
    await page.selectOption('#m-filter select[name=status]', 'queued');
    await page.click('#m-filter button');
    // Phones are masked for a caller without an SMS-OTP grant (src/access).
    await page.locator('#c-messages tbody td', { hasText: '+91******3210' }).waitFor();
    expect(await page.locator('#c-messages tbody tr').count()).toBe(2);
    expect(await page.isDisabled('button[data-action=resume]')).toBe(true);

    await page.click('button[data-action=pause]');
    await page.locator('#c-meta .status', { hasText: 'paused' }).waitFor();
    expect((await env.container().prisma.campaign.findUnique({ where: { id: campaignId } }))?.status).toBe('paused');
    await page.locator('button[data-action=resume]:not([disabled])').waitFor();
    expect(await page.isDisabled('button[data-action=pause]')).toBe(true);
    await page.screenshot({ path: artifactPath('dashboard-campaign.png'), fullPage: true });

    // The failures export says why the API refused it, like every other request of the page.
    await page.evaluate('localStorage.setItem("bulksms.apiToken", "not-the-token")');
    await page.click('#export-failures');
    await page.locator('#flash.error', { hasText: 'export failed: invalid bearer token: enter the API token above' }).waitFor({ timeout: 5_000 });
    await page.evaluate(`localStorage.setItem("bulksms.apiToken", "${TEST_API_TOKEN}")`);

    await page.click('a[href="#/"]');
    const row = page.locator(`#campaigns tr[data-id="${campaignId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('Browser campaign');
    expect(await row.locator('.status').textContent()).toBe('paused');
    await page.screenshot({ path: artifactPath('dashboard-list.png'), fullPage: true });
  });

  it('stops polling a view once it is left, even with its request still unanswered', async () => {
    const list = await env.container().prisma.contactList.create({ data: { name: 'views-list', status: 'ready' } });
    const create = async (name: string) =>
      (await http('POST', `${api.url}/api/campaigns`, { json: { name, list: list.id, type: 'transactional', from: 'ACMEIN', text: 'Hi' } }))
        .json<{ campaignId: string }>().campaignId;
    const [first, second] = [await create('First campaign'), await create('Second campaign')];
    const tab = await browser.context.newPage();
    try {
      await tab.goto(`${api.url}/dashboard/`);
      // A busy server: the list and the first campaign answer late, so the views are left with requests pending.
      await tab.route((url) => url.pathname === '/api/campaigns', slowly);
      await tab.route((url) => url.pathname.startsWith(`/api/campaigns/${first}`), slowly);
      await tab.fill('#token-input', TEST_API_TOKEN);
      await tab.click('#token-form button');
      await tab.evaluate(`location.hash = '#/campaign/${first}'`);
      await tab.waitForTimeout(300);
      await tab.evaluate(recordViews);
      await tab.evaluate(`location.hash = '#/campaign/${second}'`);
      await tab.locator('#c-name', { hasText: 'Second campaign' }).waitFor();
      // Long enough for the late answers to arrive and for a stale poll to tick again.
      await tab.waitForTimeout(4500);
      const seen = (await tab.evaluate('globalThis.seen')) as string[];
      expect(seen.some((s) => s.startsWith('Second campaign'))).toBe(true);
      expect(seen.filter((s) => s.includes('First campaign') || s.includes('error:'))).toEqual([]);
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('submitting again after a refused campaign reuses the imported list; a refused start still opens the campaign', async () => {
    const { createCampaign, startCampaign } = services;
    // The services refuse a placeholder the list has no column for, and the start (credits short).
    services.createCampaign = async (c, input) => {
      if (input.text?.includes('{{nme}}')) throw new ValidationError('text placeholder "nme" is not a column of the list', 'text');
      return createCampaign(c, input);
    };
    services.startCampaign = async () => {
      throw new ConflictError('balance is short: 0 credits, the campaign needs 2');
    };
    const tab = await browser.context.newPage();
    try {
      await tab.goto(`${api.url}/dashboard/#/new`);
      await tab.fill('#token-input', TEST_API_TOKEN);
      await tab.click('#token-form button');
      await tab.setInputFiles('input[name=file]', CSV);
      await tab.fill('input[name=listName]', 'resubmit-list');
      await tab.fill('input[name=campaignName]', 'Resubmitted campaign');
      await tab.fill('input[name=from]', 'ACMEIN');
      await tab.fill('textarea[name=text]', 'Hello {{nme}}');
      await tab.click('#upload-submit');
      // Said next to the form under the field's label (the API names the field), not in the banner at the top.
      await tab.locator('#form-error', { hasText: 'Text: text placeholder "nme"' }).waitFor();
      expect(await tab.textContent('#upload-result')).toContain('2 accepted, 1 rejected');

      await tab.fill('textarea[name=text]', 'Hello {{name}}');
      await tab.click('#upload-submit');
      await tab.waitForURL(/#\/campaign\/[0-9a-f-]{36}$/, { timeout: 5_000 });
      await tab.locator('#c-name', { hasText: 'Resubmitted campaign' }).waitFor();
      expect(await tab.textContent('#flash.error')).toContain('not started: balance is short');
      expect(await tab.isEnabled('button[data-action=start]')).toBe(true);
      const prisma = env.container().prisma;
      expect(await prisma.contactList.count({ where: { name: 'resubmit-list' } })).toBe(1);
      expect(await prisma.campaign.count({ where: { name: 'Resubmitted campaign' } })).toBe(1);
    } finally {
      Object.assign(services, { createCampaign, startCampaign });
      await tab.close();
    }
  }, 30_000);

  it('takes down a polling error once the API answers again', async () => {
    const list = await env.container().prisma.contactList.create({ data: { name: 'outage-list', status: 'ready' } });
    await env.container().prisma.campaign.create({ data: { name: 'Outage campaign', listId: list.id, type: 'transactional', sender: 'ACMEIN', text: 'Hi' } });
    const { getCampaignStatus } = services;
    services.getCampaignStatus = async () => {
      throw new ServiceError('PostgreSQL is unreachable');
    };
    const tab = await browser.context.newPage();
    try {
      await tab.goto(`${api.url}/dashboard/`);
      await tab.fill('#token-input', TEST_API_TOKEN);
      await tab.click('#token-form button');
      await tab.locator('#flash.error', { hasText: 'PostgreSQL is unreachable' }).waitFor();
      services.getCampaignStatus = getCampaignStatus;
      await tab.locator('#campaigns tbody tr', { hasText: 'Outage campaign' }).waitFor({ timeout: 5_000 });
      await tab.locator('#flash').waitFor({ state: 'hidden', timeout: 5_000 });
    } finally {
      services.getCampaignStatus = getCampaignStatus;
      await tab.close();
    }
  }, 30_000);

  /** A started campaign of 60 messages (one page of 50 and "More"), open in a new tab on its page. */
  async function campaignPageOf60(name: string, phonePrefix: string): Promise<Page> {
    const prisma = env.container().prisma;
    const list = await prisma.contactList.create({ data: { name: `${name} list`, status: 'ready' } });
    await prisma.contact.createMany({
      data: Array.from({ length: 60 }, (_, i) => ({ listId: list.id, phone: `${phonePrefix}${String(i).padStart(4, '0')}`, rawPhone: 'x', sourceLine: i + 2, variables: {} })),
    });
    const campaign = await prisma.campaign.create({ data: { name, listId: list.id, type: 'transactional', sender: 'ACMEIN', text: 'Hi' } });
    await services.startCampaign(env.container(), campaign.id);
    const tab = await browser.context.newPage();
    await tab.goto(`${api.url}/dashboard/`);
    await tab.fill('#token-input', TEST_API_TOKEN);
    await tab.click('#token-form button');
    await tab.evaluate(`location.hash = '#/campaign/${campaign.id}'`);
    await tab.locator('#m-more:not([hidden])').waitFor();
    return tab;
  }

  it('keeps the page "More" added when the poll\'s reload of page 1 was still on its way', async () => {
    const tab = await campaignPageOf60('Paging campaign', '+91987650');
    try {
      // The poll's reloads of page 1 answer late; "More" is clicked while one is on its way.
      const isReload = (url: URL) => url.pathname.endsWith('/messages') && !url.searchParams.has('cursor');
      await tab.route(isReload, slowly);
      await tab.waitForRequest((req) => isReload(new URL(req.url())));
      await tab.click('#m-more');
      await tab.locator('#c-messages tbody tr').nth(59).waitFor();
      await tab.waitForTimeout(2500);
      expect(await tab.locator('#c-messages tbody tr').count()).toBe(60);
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('"More" follows the filter the rows were found with, not one typed but not applied', async () => {
    const tab = await campaignPageOf60('Typed filter campaign', '+91987640');
    try {
      // Typed, not applied: the 50 rows shown are still every message's.
      await tab.selectOption('#m-filter select[name=status]', 'failed');
      await tab.click('#m-more');
      await tab.locator('#c-messages tbody tr').nth(59).waitFor({ timeout: 5_000 });
      expect(await tab.locator('#flash.error').isVisible()).toBe(false);
      expect(await tab.locator('#c-messages tbody tr').count()).toBe(60);
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('reaches a campaign beyond the first 50 with "More", and the poll keeps it there as campaigns are created', async () => {
    const prisma = env.container().prisma;
    const list = await prisma.contactList.create({ data: { name: 'many-campaigns-list', status: 'ready' } });
    const campaign = (name: string, createdAt?: Date) => ({ name, listId: list.id, type: 'transactional' as const, sender: 'ACMEIN', text: 'Hi', createdAt });
    const oldest = await prisma.campaign.create({ data: campaign('Oldest campaign', new Date('2020-01-01T00:00:00Z')) });
    await prisma.campaign.createMany({ data: Array.from({ length: 50 }, (_, i) => campaign(`Newer campaign ${i}`)) });
    const tab = await browser.context.newPage();
    try {
      await tab.goto(`${api.url}/dashboard/`);
      await tab.fill('#token-input', TEST_API_TOKEN);
      await tab.click('#token-form button');
      await tab.locator('#campaigns tbody tr').nth(49).waitFor();
      const row = tab.locator(`#campaigns tr[data-id="${oldest.id}"]`);
      expect(await row.count()).toBe(0);
      await tab.click('#campaigns-more');
      await row.waitFor();
      const shown = await tab.locator('#campaigns tbody tr').count();
      // A campaign created now moves every row down one; the poll reloads both pages, so none is lost or doubled.
      await prisma.campaign.create({ data: campaign('Created after More') });
      await tab.locator('#campaigns tbody tr', { hasText: 'Created after More' }).waitFor({ timeout: 5_000 });
      await tab.waitForTimeout(2500);
      const ids = await tab.locator('#campaigns tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
      expect(ids).toHaveLength(shown + 1);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toContain(oldest.id);
      await row.locator('a').click();
      await tab.locator('#c-name', { hasText: 'Oldest campaign' }).waitFor();
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('shows a cron campaign\'s counts, failures and messages of one run, says which, and switches them together', async () => {
    const c = env.container();
    // Two firings: run 1 had a failure, run 2 (the latest) none.
    const { campaignId, runId } = await seedCampaign(c, [
      { status: 'failed', outcomeClass: 'permanent_recipient', failureReason: 'DND number' },
      { status: 'delivered', outcomeClass: 'accepted' },
    ], { name: 'Daily reminder', status: 'completed' });
    await c.prisma.campaign.update({ where: { id: campaignId }, data: { cron: '0 10 * * *' } });
    await c.prisma.campaignRun.update({ where: { id: runId }, data: { status: 'completed', trigger: 'cron', startedAt: new Date(Date.now() - 86_400_000) } });
    const second = await c.prisma.campaignRun.create({ data: { campaignId, runNumber: 2, trigger: 'cron', status: 'completed', startedAt: new Date() } });
    await c.prisma.message.createMany({
      data: ['+919800000020', '+919800000021'].map((phone) => ({ runId: second.id, campaignId, phone, status: 'delivered' as const, outcomeClass: 'accepted' as const })),
    });
    const { getCampaignStatus } = services;
    // The real status, with one entry per run (the stub knows no runs).
    services.getCampaignStatus = (container, id) => realCampaignStatus(container, id);
    const tab = await browser.context.newPage();
    const shown = async () => ({
      counts: await tab.textContent('h2:has(+ #c-counts)'),
      failed: await tab.textContent('#c-count-values td[data-status=failed]'),
      delivered: await tab.textContent('#c-count-values td[data-status=delivered]'),
      failures: await tab.locator('#c-failures tbody tr').allTextContents(),
      messages: await tab.locator('#c-messages tbody tr').count(),
    });
    try {
      await tab.goto(`${api.url}/dashboard/`);
      await tab.fill('#token-input', TEST_API_TOKEN);
      await tab.click('#token-form button');
      const row = tab.locator(`#campaigns tr[data-id="${campaignId}"]`);
      await row.locator('.run-of', { hasText: 'run 2 of 2' }).waitFor();
      await row.locator('a').click();

      await tab.locator('#c-scope:not([hidden])').waitFor();
      await tab.locator('h2:has(+ #c-counts)', { hasText: 'run 2 of 2, started' }).waitFor();
      await tab.locator('#c-messages tbody tr').nth(1).waitFor();
      expect(await shown()).toEqual({ counts: expect.stringContaining('run 2 of 2'), failed: '0', delivered: '2', failures: [], messages: 2 });
      expect(await tab.textContent('h2:has(+ #c-failures)')).toContain('run 2 of 2');

      await tab.selectOption('#c-run', '1');
      await tab.locator('#c-failures td', { hasText: 'DND number' }).waitFor();
      await tab.waitForTimeout(2500);
      expect(await shown()).toEqual({
        counts: expect.stringContaining('run 1 of 2'), failed: '1', delivered: '1', failures: [expect.stringContaining('DND number')], messages: 2,
      });
      expect(await tab.locator('#c-messages tbody td', { hasText: 'DND number' }).count()).toBe(1);

      await tab.selectOption('#c-run', 'all');
      await tab.locator('#c-messages tbody tr').nth(3).waitFor();
      expect(await shown()).toEqual({
        counts: expect.stringContaining('all 2 runs'), failed: '1', delivered: '3', failures: [expect.stringContaining('DND number')], messages: 4,
      });
    } finally {
      services.getCampaignStatus = getCampaignStatus;
      await tab.close();
    }
  }, 30_000);

  it('retries the failures of the run it shows, and of every run when it shows all', async () => {
    const c = env.container();
    // Two firings of a cron campaign, each with a failure that was certainly not sent.
    const { campaignId, runId } = await seedCampaign(c, [{ status: 'failed', outcomeClass: 'retryable', failureReason: 'HTTP 503 from provider' }],
      { name: 'Nightly', status: 'completed' });
    await c.prisma.campaign.update({ where: { id: campaignId }, data: { cron: '0 22 * * *' } });
    await c.prisma.campaignRun.update({ where: { id: runId }, data: { status: 'completed', trigger: 'cron', startedAt: new Date(Date.now() - 86_400_000) } });
    const second = await c.prisma.campaignRun.create({ data: { campaignId, runNumber: 2, trigger: 'cron', status: 'completed', startedAt: new Date() } });
    await c.prisma.message.create({
      data: { runId: second.id, campaignId, phone: '+919800000040', status: 'failed', outcomeClass: 'retryable', failureReason: 'HTTP 503 from provider' },
    });
    const { getCampaignStatus, retryCampaign } = services;
    // The real status (one entry per run) and the real retry (which re-queues as `pending`).
    services.getCampaignStatus = (container, id) => realCampaignStatus(container, id);
    services.retryCampaign = (container, id, opts) => realRetryCampaign(container, id, opts);
    const pendingIn = (run: string) => c.prisma.message.count({ where: { runId: run, status: 'pending' } });
    const tab = await browser.context.newPage();
    try {
      await tab.goto(`${api.url}/dashboard/#/campaign/${campaignId}`);
      await tab.fill('#token-input', TEST_API_TOKEN);
      await tab.click('#token-form button');
      await tab.locator('#c-scope:not([hidden])').waitFor();
      await tab.locator('button[data-action=retry]', { hasText: 'Retry failed (run 2)' }).waitFor();

      await tab.selectOption('#c-run', '1');
      await tab.locator('button[data-action=retry]', { hasText: 'Retry failed (run 1)' }).waitFor();
      await tab.click('button[data-action=retry]');
      await tab.locator('#flash', { hasText: 're-queued 1 message(s) of run 1' }).waitFor();
      expect([await pendingIn(runId), await pendingIn(second.id)]).toEqual([1, 0]);

      await tab.selectOption('#c-run', 'all');
      await tab.locator('button[data-action=retry]:not([disabled])', { hasText: 'Retry failed (all runs)' }).waitFor();
      await tab.click('button[data-action=retry]');
      await tab.locator('#flash', { hasText: /^re-queued 1 message\(s\)$/ }).waitFor();
      expect([await pendingIn(runId), await pendingIn(second.id)]).toEqual([1, 1]);
    } finally {
      services.getCampaignStatus = getCampaignStatus;
      services.retryCampaign = retryCampaign;
      await tab.close();
    }
  }, 30_000);

  it('says beside "re-queued" which failures Retry left and why, as `campaign retry` does', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c, [
      { status: 'failed', outcomeClass: 'permanent_recipient', failureReason: 'Number is in DND' },
      { status: 'failed', outcomeClass: 'permanent_recipient', failureReason: 'Number is in DND' },
      { status: 'unknown', outcomeClass: 'ambiguous', failureReason: 'timeout after 10000 ms' },
    ], { name: 'All refused', status: 'completed' });
    const { retryCampaign } = services;
    services.retryCampaign = (container, id, opts) => realRetryCampaign(container, id, opts);
    const tab = await browser.context.newPage();
    try {
      await tab.goto(`${api.url}/dashboard/#/campaign/${campaignId}`);
      await tab.fill('#token-input', TEST_API_TOKEN);
      await tab.click('#token-form button');
      await tab.locator('#c-failures td', { hasText: 'Number is in DND' }).waitFor();
      await tab.click('button[data-action=retry]:not([disabled])');
      // It said only "re-queued 0 message(s)", beside "failed 2": as if Retry had not worked.
      await tab.locator('#flash', { hasText: 're-queued 0 message(s); 2 failed message(s) not retried' }).waitFor();
      expect(await tab.textContent('#flash')).toBe(
        're-queued 0 message(s); 2 failed message(s) not retried: a retry sends again only what certainly did not go out, not a message ' +
        'refused for its recipient, failed by its delivery report or missing a variable; 1 unknown (maybe sent) not retried: tick ' +
        '"include unknown" to re-send them, possibly twice');
    } finally {
      services.retryCampaign = retryCampaign;
      await tab.close();
    }
  }, 30_000);

  it("shows the campaign's text as it was typed (never as markup), or its DLT template, with its cost", async () => {
    const c = env.container();
    const { campaignId, listId } = await seedCampaign(c, [{ status: 'pending' }], { name: 'Texted', status: 'draft' });
    const text = '<img src=x onerror="window.pwned=1">Hi {{name}},\nsale ends 5pm';
    await c.prisma.campaign.update({ where: { id: campaignId }, data: { text, encoding: 'GSM-7', segmentsMax: 1, credits: 120 } });
    const templated = await c.prisma.campaign.create({
      data: { name: 'Templated', listId, type: 'transactional', sender: 'ACMEIN', templateName: 'order_update', templateVars: ['name'] },
    });
    const tab = await browser.context.newPage();
    try {
      await tab.goto(`${api.url}/dashboard/#/campaign/${campaignId}`);
      await tab.fill('#token-input', TEST_API_TOKEN);
      await tab.click('#token-form button');
      // The page did not show what the campaign sends at all: a draft was started without seeing its words.
      await tab.locator('#c-text', { hasText: 'Hi {{name}}' }).waitFor({ timeout: 5_000 });
      expect(await tab.textContent('#c-text')).toBe(text);
      expect(await tab.textContent('#c-message')).toContain('Text:');
      expect(await tab.textContent('#c-cost')).toBe('(GSM-7 · up to 1 segment(s) per message · ~120 credits estimated at create)');
      expect([await tab.locator('#c-message img').count(), await tab.evaluate('window.pwned')]).toEqual([0, undefined]);

      await tab.goto(`${api.url}/dashboard/#/campaign/${templated.id}`);
      await tab.locator('#c-text', { hasText: 'order_update' }).waitFor({ timeout: 5_000 });
      expect(await tab.textContent('#c-message')).toContain('DLT template: order_update');
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('shows the messages of the reasons past the 100 listed as an "other reasons" row', async () => {
    const { campaignId } = await seedCampaign(env.container(),
      Array.from({ length: 103 }, (_, i) => ({ status: 'failed' as const, outcomeClass: 'retryable' as const, failureReason: `error code ${i}` })),
      { name: 'Many reasons', status: 'completed' });
    const tab = await browser.context.newPage();
    try {
      await tab.goto(`${api.url}/dashboard/#/campaign/${campaignId}`);
      await tab.fill('#token-input', TEST_API_TOKEN);
      await tab.click('#token-form button');
      // The rows added up to 100 beside "failed 103", and nothing said where the other 3 were.
      const other = tab.locator('#c-failures tr.omitted');
      await other.waitFor({ timeout: 5_000 });
      expect(await other.textContent()).toBe('other reasons (Download failures.csv has every message)3');
      expect(await tab.locator('#c-failures tbody tr').count()).toBe(101);
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('shows an ETA as whole minutes and seconds', async () => {
    const tab = await browser.context.newPage();
    try {
      await tab.goto(`${api.url}/dashboard/`);
      // formatSeconds is a global of the page's script.
      const shown = await tab.evaluate('[0.2, 59.5, 119.5, 3599.5, 7199, 7260].map(formatSeconds)');
      expect(shown).toEqual(['1 s', '1 min 0 s', '2 min 0 s', '1 h 0 min', '2 h 0 min', '2 h 1 min']);
    } finally {
      await tab.close();
    }
  });

  it('opens bull-board at /queues with the stored token cookie', async () => {
    await page.goto(`${api.url}/queues`);
    await page.locator('text=send').first().waitFor({ timeout: 15_000 });
    await page.screenshot({ path: artifactPath('dashboard-queues.png') });
  });
});
