/**
 * `bulksms send … 2>&1 | head`: the reader of the progress goes away mid-send. The campaign is not cut with it —
 * the progress goes silent, the run sends to the end, nothing is left in flight or `unknown` — and the exit status
 * is 141, as the closed pipe's (stdout-pipe.ts), so `set -o pipefail` still learns that the output was cut short.
 */
import { spawn } from 'node:child_process';
import { BIN } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { writeTempCsv } from '../../helpers/temp-csv';

const env = useTestEnv({ SMS_RATE_LIMIT: '40' });

describe('bulksms send: its stderr closed by the reader mid-send', () => {
  let t: TestSimulator;
  beforeAll(async () => {
    t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 40, latencyMs: [200, 400] });
  });
  afterAll(() => t.close());

  it('sends the whole campaign, silently, and exits 141', async () => {
    const rows = Array.from({ length: 300 }, (_v, i) => `98765${String(60000 + i)},N${i}`);
    const csv = await writeTempCsv('bulksms-closed-stderr-', ['phone,name', ...rows].join('\n'));
    const child = spawn(
      process.execPath,
      [BIN, 'send', csv, '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--list', 'closed-stderr', '--wait-reports', '0'],
      { env: { ...process.env, ...env.env, TWOFACTOR_BASE_URL: t.sim.url }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    // Progress is shown without --json only; its first line is read, as `head` would.
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    // Mid-send (some 40 requests accepted of 300, ~7 s of sending left), the reader goes away: the run's next
    // progress line (every 5 s, and its last one) meets the closed pipe.
    while (t.sim.stats().accepted < 40 || !/running: /.test(stderr)) await new Promise((r) => setTimeout(r, 20));
    child.stderr.destroy();
    const code = await exited;

    expect(code).toBe(141);
    // The result on stdout (still read) is whole.
    expect(stdout).toMatch(/completed/);
    const { rows: byStatus } = await env.container().pg.query<{ campaign: string; status: string; count: number }>(
      `SELECT c.status AS campaign, m.status, count(*)::int AS count FROM campaigns c JOIN contact_lists l ON l.id = c.list_id
       JOIN messages m ON m.campaign_id = c.id WHERE l.name = 'closed-stderr' GROUP BY 1, 2`,
    );
    expect(byStatus.map((r) => r.campaign)).toEqual(byStatus.map(() => 'completed'));
    // Nothing left in flight, pending or guessed: every message was sent, once.
    expect(byStatus.filter((r) => r.status !== 'sent' && r.status !== 'delivered')).toEqual([]);
    expect(byStatus.reduce((n, r) => n + r.count, 0)).toBe(300);
    expect(t.sim.stats().acceptedRecipients).toBe(300);
  }, 90_000);
});
