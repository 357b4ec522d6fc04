/** `bulksms send` waits (bounded) for delivery reports after sending, polling them in the same process. */
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { writeTempCsv } from '../../helpers/temp-csv';

const env = useTestEnv({ SMS_RATE_LIMIT: '300' });

interface SendJson {
  status: string;
  counts: Record<string, number>;
  reports: { waitedMs: number; awaiting: number };
}

describe('bulksms send: delivery reports', () => {
  let t: TestSimulator;
  let csv: string;
  beforeAll(async () => {
    t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 300, latencyMs: [10, 40], dlrDelayMs: 300 });
    const rows = Array.from({ length: 25 }, (_v, i) => `98765${String(40000 + i)},N${i}`);
    csv = await writeTempCsv('bulksms-send-', ['phone,name', ...rows, '12345,bad'].join('\n'));
  });
  afterAll(() => t.close());

  const send = (list: string, waitReports: string) =>
    runCli(['send', csv, '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--list', list, '--wait-reports', waitReports, '--json'], {
      ...env.env,
      TWOFACTOR_BASE_URL: t.sim.url,
    });

  it('shows delivered counts from delivery reports in --json', async () => {
    const r = await send('with-reports', '15');
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as SendJson;
    // The contract's keys: those of `campaign status`, plus elapsedMs and reports.
    expect(out).toMatchObject({
      campaignId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'completed',
      alert: null,
      total: 25,
      counts: { pending: 0, queued: 0, sending: 0, sent: 0, delivered: 25, failed: 0, unknown: 0, suppressed: 0, cancelled: 0 },
      elapsedMs: expect.any(Number),
    });
    expect(out.reports.awaiting).toBe(0);
    expect(out.reports.waitedMs).toBeLessThan(15_000);
  }, 60_000);

  it('--wait-reports 0 returns as soon as sending is done, reports still outstanding', async () => {
    const r = await send('no-wait', '0');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as SendJson;
    expect(out.counts).toMatchObject({ sent: 25, delivered: 0 });
    expect(out.reports).toMatchObject({ awaiting: 25 });
  }, 60_000);

  it('rejects a bad --wait-reports with exit code 2', async () => {
    const r = await send('bad', 'soon');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--wait-reports/);
  });

  it.each([
    ['a bad --type', ['--type', 'bogus', '--text', 'Hi {{name}}'], /--type/],
    ['a placeholder the file has no column for', ['--type', 'transactional', '--text', 'Hi {{nme}}'], /nme/],
  ])('refuses %s with exit 2 and stores nothing; the corrected command then works', async (_label, args, message) => {
    const env2 = { ...env.env, TWOFACTOR_BASE_URL: t.sim.url };
    const list = `usage-${String(args[1]).replace(/\W/g, '')}-${String(args[3]).length}`;
    const bad = await runCli(['send', csv, '--from', 'BLKSMS', ...args, '--list', list, '--wait-reports', '0', '--json'], env2);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(message);
    const { rows } = await env.container().pg.query(
      `SELECT l.status, (SELECT count(*)::int FROM contacts c WHERE c.list_id = l.id) AS contacts,
              (SELECT count(*)::int FROM campaigns k WHERE k.list_id = l.id) AS campaigns
         FROM contact_lists l WHERE l.name = $1`,
      [list],
    );
    // Nothing usable was stored: no list at all, or a failed one with no contacts and no campaign.
    expect(rows.every((r: { status: string; contacts: number; campaigns: number }) => r.status === 'failed' && r.contacts === 0 && r.campaigns === 0)).toBe(true);
    const good = await send(list, '0');
    expect(good.stderr).not.toMatch(/error/i);
    expect(good.code).toBe(0);
  }, 60_000);
});
