/**
 * The whole product through the dashboard in headless Chromium: upload a CSV, create and start a campaign,
 * watch it complete against the 2Factor simulator (which fails some sends ambiguously and pushes delivery
 * reports to the webhook), then retry the unknown ones from the campaign page.
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { wiredServices } from '../../../src/cli/commands/serve';
import { startWorker, type RunningWorker } from '../../../src/sending/worker';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { TEST_API_TOKEN, TEST_WEBHOOK_SECRET, startApi, type RunningApi } from '../../helpers/api-server';
import { artifactPath, launchBrowser, type Browser } from '../../helpers/browser';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET, SMS_RATE_LIMIT: '200' });
const RECIPIENTS = 40;
type Doc = { querySelector(selector: string): { textContent: string | null } | null };
/**
 * Runs in the page (serialised by playwright; the dashboard's CSP forbids string eval). This file is compiled
 * without DOM types, hence the cast.
 */
function countsReach([n, finalOnly]: [number, boolean]): boolean {
  const doc = (globalThis as unknown as { document: Doc }).document;
  const cell = (s: string) => Number(doc.querySelector(`#c-count-values td[data-status=${s}]`)?.textContent ?? 0);
  if (finalOnly) return cell('delivered') === n;
  return cell('delivered') + cell('unknown') + cell('failed') === n && cell('sent') === 0;
}
// Plus one row the import rejects (line 42), for the row report.
const csv = ['phone,name', ...Array.from({ length: RECIPIENTS }, (_, i) => `98765${String(43000 + i)},Name ${i}`), '12345,Too Short'].join('\n');

describe('dashboard end to end (real services, simulator, headless Chromium)', () => {
  let api: RunningApi;
  let sim: TestSimulator;
  let worker: RunningWorker;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    // The simulator needs the API's URL for its callbacks, so it starts second; starts ask it for the balance.
    api = await startApi(env.container(), wiredServices({ balance: (kind) => sim.provider().balance(kind) }), { queueNames: ['send'] });
    sim = await startTestSimulator({
      apiKey: env.config.TWOFACTOR_API_KEY!,
      rate: 200,
      failRate: 0.25,
      // Like the real network: reports come after the send's outcome is committed (an earlier push finds no
      // open message and is dropped; the delivery-report poller would pick those up).
      dlrDelayMs: 1500,
      callbackUrl: `${api.url}/webhooks/dlr/${TEST_WEBHOOK_SECRET}`,
    });
    worker = await startWorker(env.container(), { provider: sim.provider(), concurrency: 20 });
    browser = await launchBrowser();
    page = await browser.context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await worker?.close();
    await sim?.close();
    await api?.close();
  });

  const count = async (status: string) => Number(await page.textContent(`#c-count-values td[data-status=${status}]`));

  it('uploads, creates, starts, completes, and retries the unknown messages', async () => {
    try {
      await scenario();
    } catch (err) {
      // Leave evidence: what the page showed and what the database says.
      await page.screenshot({ path: artifactPath('e2e-failure.png'), fullPage: true }).catch(() => undefined);
      const { rows } = await env.container().pg.query(`SELECT c.status AS campaign, m.status, count(*)::int AS n FROM messages m JOIN campaigns c ON c.id = m.campaign_id GROUP BY 1, 2`);
      throw new Error(`${err instanceof Error ? err.message : String(err)}\nDB: ${JSON.stringify(rows)}\nsimulator: ${JSON.stringify(sim.sim.stats())}`, { cause: err });
    }
  }, 180_000);

  async function scenario(): Promise<void> {
    await page.goto(`${api.url}/dashboard/#/new`);
    await page.fill('#token-input', TEST_API_TOKEN);
    await page.click('#token-form button');
    await page.setInputFiles('input[name=file]', { name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.fill('input[name=listName]', 'e2e-list');
    await page.fill('input[name=campaignName]', 'E2E campaign');
    await page.fill('input[name=from]', 'ACMEIN');
    await page.fill('textarea[name=text]', 'Hello {{name}}, your order shipped');
    await page.click('#upload-submit');
    await page.waitForURL(/#\/campaign\/[0-9a-f-]{36}$/);

    // The upload's row report, from the campaign page: which line was rejected, in which column and why (masked).
    const rejects = page.locator('#export-rejects', { hasText: "Download the list's 1 rejected row(s)" });
    await rejects.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), rejects.click()]);
    expect(download.suggestedFilename()).toBe('rejects-e2e-list.csv');
    const report = readFileSync((await download.path())!, 'utf8');
    expect(report).toBe('source_line,raw_row,column,reason\n42,"***45,Too Short",phone,invalid number (too short): ***45\n');

    await page.locator('#c-meta .status', { hasText: 'completed' }).waitFor({ timeout: 60_000 });
    await page.waitForFunction(countsReach, [RECIPIENTS, false] as [number, boolean], { timeout: 60_000 });
    const unknown = await count('unknown');
    expect(unknown).toBeGreaterThan(0);
    expect(sim.sim.stats().errors).toBeTruthy();
    await page.locator('#c-failures td', { hasText: 'unknown' }).first().waitFor();
    await page.screenshot({ path: artifactPath('e2e-completed-with-unknown.png'), fullPage: true });

    // The provider is healthy again: re-send the ambiguous ones on purpose.
    sim.sim.configure({ failRate: 0 });
    await page.check('#include-unknown');
    await page.click('button[data-action=retry]');
    await page.locator('#flash', { hasText: `re-queued ${unknown} message(s)` }).waitFor();
    await page.waitForFunction(countsReach, [RECIPIENTS, true] as [number, boolean], { timeout: 60_000 });
    expect(await count('unknown')).toBe(0);
    expect(await page.textContent('#c-meta .status')).toBe('completed');
    await page.screenshot({ path: artifactPath('e2e-after-retry.png'), fullPage: true });

    const accepted = await sim.accepted();
    expect(accepted.size).toBe(RECIPIENTS);
  }
});
