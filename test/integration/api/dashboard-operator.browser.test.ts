/**
 * The dashboard as a marketing operator uses it during a campaign, in headless Chromium against the real API:
 * what a double-click does, what the page must say (alerts, times in IST), and what each token's role is offered.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { useTestEnv } from '../../helpers/env';
import { getCampaignStatus as realCampaignStatus } from '../../../src/sending/campaign-control';
import { createToken } from '../../../src/access/tokens';
import { createContainer, type Container } from '../../../src/container';
import { createLogger } from '../../../src/logger';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server';
import { seedCampaign } from '../../helpers/api-fixtures';
import { stubServices, type StubServices } from '../../helpers/api-services';
import { TEST_API_TOKEN, startApi, type RunningApi } from '../../helpers/api-server';
import { launchBrowser, type Browser } from '../../helpers/browser';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });
const CSV = path.join(__dirname, '..', '..', 'fixtures', 'api', 'contacts.csv');

describe('dashboard for an operator (headless Chromium)', () => {
  let api: RunningApi;
  let browser: Browser;
  const services: StubServices = stubServices();
  const { getCampaignStatus } = services;

  beforeAll(async () => {
    // The real status: it carries the campaign's alert and its runs (the stub knows neither).
    services.getCampaignStatus = (container, id) => realCampaignStatus(container, id);
    api = await startApi(env.container(), services, { queueNames: ['send'] });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    services.getCampaignStatus = getCampaignStatus;
    await browser?.close();
    await api?.close();
  });

  /** A tab signed in with `token`, showing `hash`. */
  async function openTab(hash: string, token = TEST_API_TOKEN): Promise<Page> {
    const tab = await browser.context.newPage();
    tab.on('dialog', (dialog) => void dialog.accept());
    await tab.goto(`${api.url}/dashboard/${hash}`);
    await tab.fill('#token-input', token);
    await tab.click('#token-form button');
    return tab;
  }

  it('sends an action once when its button is double-clicked, and says what the one action did', async () => {
    const { campaignId } = await seedCampaign(env.container(), [
      { status: 'failed', outcomeClass: 'retryable', failureReason: 'HTTP 503 from provider' },
      { status: 'failed', outcomeClass: 'retryable', failureReason: 'HTTP 503 from provider' },
    ], { name: 'Double-click campaign', status: 'paused' });
    const tab = await openTab(`#/campaign/${campaignId}`);
    const posts: string[] = [];
    tab.on('request', (req) => {
      if (req.method() === 'POST') posts.push(new URL(req.url()).pathname.split('/').pop()!);
    });
    try {
      await tab.locator('button[data-action=retry]:not([disabled])').waitFor();
      await tab.dblclick('button[data-action=retry]');
      await tab.locator('#flash', { hasText: 're-queued' }).waitFor();
      // Long enough for a second request's answer to arrive and overwrite the flash.
      await tab.waitForTimeout(1500);
      expect(await tab.textContent('#flash')).toBe('re-queued 2 message(s)');

      await tab.locator('button[data-action=cancel]:not([disabled])').waitFor();
      await tab.dblclick('button[data-action=cancel]');
      await tab.locator('#c-meta .status', { hasText: 'cancelled' }).waitFor();
      await tab.waitForTimeout(1500);
      expect(posts).toEqual(['retry', 'cancel']);
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('looks a message up by the number as the operator has it, and says so when none matches', async () => {
    const { campaignId } = await seedCampaign(env.container(), [
      { phone: '+919876543210', status: 'failed', failureReason: 'DND' }, { phone: '+919876543211', status: 'delivered' },
    ], { name: 'Lookup campaign', status: 'completed' });
    const tab = await openTab(`#/campaign/${campaignId}`);
    try {
      await tab.locator('#c-messages tbody tr').nth(1).waitFor();
      expect(await tab.isVisible('#m-empty')).toBe(false);
      await tab.fill('#m-filter input[name=phone]', '98765 43210');
      await tab.press('#m-filter input[name=phone]', 'Enter');
      await tab.locator('#c-messages tbody tr').nth(1).waitFor({ state: 'detached' });
      expect(await tab.locator('#c-messages tbody tr').allTextContents()).toEqual([expect.stringContaining('DND')]);
      await tab.fill('#m-filter input[name=phone]', '98765 00000');
      await tab.press('#m-filter input[name=phone]', 'Enter');
      await tab.locator('#m-empty').waitFor();
      expect(await tab.locator('#c-messages tbody tr').count()).toBe(0);
      // No number at all: the server's 400 says why, and the refused filter is not kept (the page's 2-second reload
      // asked for it again and again, each a 400).
      const asked: string[] = [];
      tab.on('request', (req) => {
        if (req.url().includes('phone=abc')) asked.push(req.url());
      });
      await tab.fill('#m-filter input[name=phone]', 'abc');
      await tab.press('#m-filter input[name=phone]', 'Enter');
      await tab.locator('#flash', { hasText: 'phone: "abc" is not a phone number' }).waitFor({ timeout: 5_000 });
      await tab.waitForTimeout(4_500);
      expect(asked).toHaveLength(1);
      expect(await tab.isVisible('#m-empty')).toBe(true);
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('downloads the failures export once when its button is double-clicked', async () => {
    const { campaignId } = await seedCampaign(env.container(), [{ status: 'failed', failureReason: 'DND' }], { name: 'Export campaign', status: 'completed' });
    const tab = await openTab(`#/campaign/${campaignId}`);
    const exports: string[] = [];
    tab.on('request', (req) => {
      if (new URL(req.url()).pathname.endsWith('/failures.csv')) exports.push(req.url());
    });
    try {
      await tab.locator('#c-name', { hasText: 'Export campaign' }).waitFor();
      // A slow export (a large campaign): the second click lands while the first is still being fetched.
      await tab.route((url) => url.pathname.endsWith('/failures.csv'), async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        await route.continue().catch(() => undefined);
      });
      await tab.dblclick('#export-failures');
      await tab.waitForTimeout(1500);
      expect(exports).toHaveLength(1);
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('shows what `campaign create` warned about, with the import\'s report, on the new campaign\'s page', async () => {
    const { createCampaign } = services;
    const warning = '2 message(s) need UCS-2 (non-GSM characters): 70 characters per SMS instead of 160';
    services.createCampaign = async (container, input) => ({ ...(await createCampaign(container, input)), warnings: [warning] });
    const tab = await openTab('#/new');
    try {
      await tab.setInputFiles('input[name=file]', CSV);
      await tab.fill('input[name=listName]', 'warned-list');
      await tab.fill('input[name=campaignName]', 'Warned campaign');
      await tab.fill('input[name=from]', 'ACMEIN');
      await tab.fill('textarea[name=text]', 'नमस्ते {{name}}');
      await tab.click('#upload-submit');
      await tab.locator('#c-name', { hasText: 'Warned campaign' }).waitFor({ timeout: 5_000 });
      expect(await tab.textContent('#flash.error')).toContain(`campaign created (2 recipients, 1 segment(s), ~2 credits) · warning: ${warning}`);
    } finally {
      services.createCampaign = createCampaign;
      await tab.close();
    }
  }, 30_000);

  it('shows the campaign\'s alert on its page and in the list, as `campaign status` does', async () => {
    const alert = 'scheduled run due 2026-11-27T04:30:00.000Z did not start: balance is short: 0 credits, the campaign needs 2';
    const { campaignId } = await seedCampaign(env.container(), [{ status: 'pending' }], { name: 'Alerted campaign', status: 'completed' });
    await env.container().prisma.campaign.update({ where: { id: campaignId }, data: { alert } });
    const tab = await openTab('#/');
    try {
      const row = tab.locator(`#campaigns tr[data-id="${campaignId}"]`);
      await row.waitFor();
      expect(await row.locator('.alert-mark').getAttribute('title')).toBe(`Alert: ${alert}`);
      await row.locator('a').click();
      await tab.locator('#c-alert:not([hidden])').waitFor({ timeout: 5_000 });
      expect(await tab.textContent('#c-alert')).toBe(`Alert: ${alert}`);
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('says a campaign is paused only while it is: cancelled after a pause, the reason reads as the last pause\'s', async () => {
    const { campaignId } = await seedCampaign(env.container(), [{ status: 'queued' }], { name: 'Paused then cancelled', status: 'paused' });
    await env.container().prisma.campaign.update({ where: { id: campaignId }, data: { pauseReason: 'paused via API' } });
    const tab = await openTab(`#/campaign/${campaignId}`);
    try {
      await tab.locator('#c-meta', { hasText: 'paused via API' }).waitFor();
      expect(await tab.textContent('#c-meta')).toMatch(/^paused .* · paused: paused via API$/);
      await tab.click('button[data-action=cancel]');
      await tab.locator('#c-meta .status', { hasText: 'cancelled' }).waitFor();
      expect(await tab.textContent('#c-meta')).toMatch(/^cancelled .* · last paused: paused via API$/);
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('says when a scheduled campaign sends: its time in IST, or its cron schedule and zone', async () => {
    const c = env.container();
    const list = await c.prisma.contactList.create({ data: { name: 'schedule-list', status: 'ready' } });
    const campaign = (name: string, data: object) =>
      c.prisma.campaign.create({ data: { name, listId: list.id, type: 'promotional', sender: '123456', text: 'Hi', status: 'scheduled', ...data } });
    const at = await campaign('At campaign', { scheduleAt: new Date('2026-12-01T04:30:00.000Z') });
    const cron = await campaign('Cron campaign', { cron: '0 10 * * 1', timezone: 'Asia/Kolkata' });
    const tab = await openTab(`#/campaign/${at.id}`);
    try {
      await tab.locator('#c-meta .status', { hasText: 'scheduled' }).waitFor();
      expect(await tab.textContent('#c-meta')).toMatch(/ · sends at 1 Dec 2026, 10:00:00 (IST|GMT\+5:30)$/);
      await tab.evaluate(`location.hash = '#/campaign/${cron.id}'`);
      await tab.locator('#c-name', { hasText: 'Cron campaign' }).waitFor();
      await tab.locator('#c-meta .status', { hasText: 'scheduled' }).waitFor();
      expect(await tab.textContent('#c-meta')).toContain(' · every "0 10 * * 1" (cron, Asia/Kolkata)');
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('shows times in IST, named, whatever the browser\'s own time zone', async () => {
    const c = env.container();
    const { campaignId, runId } = await seedCampaign(c, [{ status: 'delivered', outcomeClass: 'accepted' }], { name: 'IST campaign', status: 'completed' });
    // 04:30 UTC is 10:00 IST.
    const at = new Date('2026-11-27T04:30:00.000Z');
    await c.prisma.message.updateMany({ where: { campaignId }, data: { updatedAt: at } });
    await c.prisma.campaign.update({ where: { id: campaignId }, data: { cron: '0 10 * * *' } });
    await c.prisma.campaignRun.update({ where: { id: runId }, data: { status: 'completed', trigger: 'cron', startedAt: at } });
    // The test browser runs in UTC (TZ of this machine, or forced here): the page must not follow it.
    const tab = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(tab);
    await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'UTC' });
    try {
      await tab.goto(`${api.url}/dashboard/#/campaign/${campaignId}`);
      await tab.fill('#token-input', TEST_API_TOKEN);
      await tab.click('#token-form button');
      const updated = tab.locator('#c-messages tbody tr td').nth(5);
      await updated.waitFor();
      expect(await updated.textContent()).toMatch(/^27 Nov 2026, 10:00:00 (IST|GMT\+5:30)$/);
      expect(await tab.textContent('h2:has(+ #c-counts)')).toMatch(/run 1 of 1, started 27 Nov 2026, 10:00:00 (IST|GMT\+5:30)/);
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('says the server cannot be reached when it is down, not the browser\'s "Failed to fetch", and recovers by itself', async () => {
    const { campaignId } = await seedCampaign(env.container(), [{ status: 'queued' }], { name: 'Outage campaign' });
    const tab = await openTab(`#/campaign/${campaignId}`);
    try {
      await tab.locator('#c-name', { hasText: 'Outage campaign' }).waitFor();
      // The server goes away: every request of the page fails at the network level.
      const isApi = (url: URL) => url.pathname.startsWith('/api/');
      await tab.route(isApi, (route) => route.abort('connectionrefused'));
      await tab.locator('#flash.error').waitFor({ timeout: 5_000 });
      expect(await tab.textContent('#flash')).toMatch(/^cannot reach the bulksms server \(.+\); it may be down or restarting/);
      await tab.unroute(isApi);
      await tab.locator('#flash').waitFor({ state: 'hidden', timeout: 5_000 });
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('offers a viewer no action it cannot take, an operator no Queues link; both are told their role', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c, [{ status: 'failed', outcomeClass: 'retryable' }], { name: 'Role campaign', status: 'paused' });
    const visible = async (tab: Page, selectors: string[]) =>
      Object.fromEntries(await Promise.all(selectors.map(async (sel) => [sel, await tab.locator(sel).first().isVisible()] as const)));
    const controls = ['button[data-action=resume]', 'button[data-action=cancel]', 'button[data-action=retry]', '#include-unknown', 'nav a[href="#/new"]', '#queues-link', '#export-failures'];

    const viewer = await openTab(`#/campaign/${campaignId}`, (await createToken(c, { role: 'viewer' })).token);
    try {
      await viewer.locator('#token-state', { hasText: 'viewer' }).waitFor({ timeout: 5_000 });
      await viewer.locator('#c-meta .status', { hasText: 'paused' }).waitFor();
      expect(await visible(viewer, controls)).toEqual({
        'button[data-action=resume]': false, 'button[data-action=cancel]': false, 'button[data-action=retry]': false, '#include-unknown': false,
        'nav a[href="#/new"]': false, '#queues-link': false, '#export-failures': true,
      });
      await viewer.evaluate("location.hash = '#/new'");
      await viewer.locator('p', { hasText: 'not upload lists or create campaigns' }).waitFor();
      expect(await viewer.isVisible('#upload-form')).toBe(false);
    } finally {
      await viewer.close();
    }

    const operator = await openTab(`#/campaign/${campaignId}`, (await createToken(c, { role: 'operator' })).token);
    try {
      await operator.locator('#token-state', { hasText: 'operator' }).waitFor({ timeout: 5_000 });
      await operator.locator('button[data-action=resume]:not([disabled])').waitFor();
      expect(await visible(operator, controls)).toEqual({
        'button[data-action=resume]': true, 'button[data-action=cancel]': true, 'button[data-action=retry]': true, '#include-unknown': true,
        'nav a[href="#/new"]': true, '#queues-link': false, '#export-failures': true,
      });
    } finally {
      await operator.close();
    }
  }, 30_000);
});

describe('dashboard sign-in with the SMS-OTP second factor (headless Chromium, 2Factor simulator)', () => {
  let sim: RunningSimulator;
  let c: Container;
  let api: RunningApi;
  let browser: Browser;

  beforeAll(async () => {
    sim = await startSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, port: 0 });
    // The API's OTP client reads TWOFACTOR_BASE_URL, known only once the simulator listens.
    c = createContainer({ config: { ...env.config, TWOFACTOR_BASE_URL: sim.url }, logger: createLogger({ level: 'silent' }) });
    api = await startApi(c, stubServices(), { queueNames: ['send'] });
    browser = await launchBrowser();
  });
  env.cleanup(async () => {
    await browser?.close();
    await api?.close();
    await c?.close();
    await sim?.close();
  });

  it('lets an owner with a registered phone ask for an OTP, retype a wrong one, and then see phone numbers in clear', async () => {
    const { campaignId } = await seedCampaign(c, [{ phone: '+919800000001', status: 'failed', failureReason: 'DND' }], { name: 'OTP campaign' });
    const { token } = await createToken(c, { role: 'owner', phone: '+919876543210' });
    const tab = await browser.context.newPage();
    try {
      await tab.goto(`${api.url}/dashboard/#/campaign/${campaignId}`);
      await tab.fill('#token-input', token);
      await tab.click('#token-form button');
      await tab.locator('#c-messages tbody td', { hasText: '+91******0001' }).waitFor();
      await tab.click('#otp-request');
      await tab.locator('#otp-sent-to', { hasText: '+91******3210' }).waitFor();
      // The field is labelled and focused: the code can be typed straight away.
      expect(await tab.evaluate('document.activeElement.id')).toBe('otp-input');
      const grant = await c.prisma.otpGrant.findFirstOrThrow({ where: { phone: '+919876543210' }, orderBy: { requestedAt: 'desc' } });
      const otp = sim.stats().otps[grant.sessionId]!;
      const wrong = otp === '000000' ? '111111' : '000000';
      await tab.fill('#otp-input', wrong);
      await tab.press('#otp-input', 'Enter');
      await tab.locator('#flash.error', { hasText: 'OTP not accepted: wrong OTP' }).waitFor();
      await tab.fill('#otp-input', otp);
      await tab.press('#otp-input', 'Enter');
      await tab.locator('#c-messages tbody td', { hasText: '+919800000001' }).waitFor({ timeout: 5_000 });
      expect(await tab.textContent('#otp-state')).toMatch(/^phone numbers shown until \d+ \w+ \d{4}, \d\d:\d\d:\d\d (IST|GMT\+5:30)$/);
      expect(await tab.isVisible('#otp-form')).toBe(false);
      expect(await tab.isVisible('#otp-request')).toBe(false);
    } finally {
      await tab.close();
    }
  }, 30_000);

  it('offers no OTP to a token that cannot have one (an operator, or the legacy API_TOKEN)', async () => {
    const tab = await browser.context.newPage();
    try {
      for (const token of [(await createToken(c, { role: 'operator' })).token, TEST_API_TOKEN]) {
        await tab.goto(`${api.url}/dashboard/`);
        await tab.fill('#token-input', token);
        await tab.click('#token-form button');
        await tab.locator('#token-state', { hasText: /operator|owner/ }).waitFor();
        expect(await tab.isVisible('#otp')).toBe(false);
      }
    } finally {
      await tab.close();
    }
  }, 30_000);
});
