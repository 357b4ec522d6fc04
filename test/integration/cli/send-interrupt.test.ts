/**
 * Ctrl-C during `bulksms send` pauses the campaign: the requests in flight finish and are recorded, nothing is
 * left `sending`, every request the provider accepted is `sent` in the ledger, and the campaign can be resumed.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BIN, runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { writeTempCsv } from '../../helpers/temp-csv';

const env = useTestEnv({ SMS_RATE_LIMIT: '40' });

interface SendJson {
  campaignId: string;
  status: string;
  pauseReason: string | null;
  total: number;
  counts: { pending: number; queued: number; sending: number; sent: number; unknown: number };
}

describe('bulksms send: interrupted', () => {
  let t: TestSimulator;
  let csv: string;
  beforeAll(async () => {
    // Slow answers, so requests are in flight at any instant the signal can arrive.
    t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 40, latencyMs: [200, 400] });
    const rows = Array.from({ length: 400 }, (_v, i) => `98765${String(40000 + i)},N${i}`);
    csv = await writeTempCsv('bulksms-interrupt-', ['phone,name', ...rows].join('\n'));
  });
  afterAll(() => t.close());

  it('pauses the campaign on SIGINT with every accepted request recorded, and it can be resumed', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'send', csv, '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--wait-reports', '0', '--json'],
      { env: { ...process.env, ...env.env, TWOFACTOR_BASE_URL: t.sim.url }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    // Interrupt once the provider has accepted some 40 requests (~1 s of sending).
    while (t.sim.stats().accepted < 40) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const code = await exited;

    expect(stderr).toMatch(/SIGINT: pausing campaign/);
    expect(code).toBe(1);
    const out = JSON.parse(stdout) as SendJson;
    expect(out.status).toBe('paused');
    expect(out.pauseReason).toMatch(/interrupted \(SIGINT\).*bulksms campaign resume/);
    // Nothing left in flight or guessed: what the provider accepted is exactly what the ledger calls sent.
    expect(out.counts).toMatchObject({ sending: 0, queued: 0, unknown: 0 });
    const stats = t.sim.stats();
    expect(out.counts.sent).toBe(stats.acceptedRecipients);
    expect(out.counts.sent).toBeLessThan(400);
    expect(out.counts.pending + out.counts.sent).toBe(out.total);

    // Resumed and sent by a worker: everyone once, nobody twice.
    const resumed = await runCli(['campaign', 'resume', out.campaignId, '--json'], { ...env.env, TWOFACTOR_BASE_URL: t.sim.url });
    expect(resumed.code).toBe(0);
    // Every campaign action is audited, those `send` takes on its own (create, start, the pause on SIGINT) included.
    const audit = await env.container().pg.query<{ action: string; via: string }>(
      `SELECT action, details->>'via' AS via FROM audit_log WHERE target = $1 ORDER BY id`,
      [out.campaignId],
    );
    expect(audit.rows).toEqual(['campaign.create', 'campaign.start', 'campaign.pause', 'campaign.resume'].map((action) => ({ action, via: 'cli' })));
    const worker = spawn(process.execPath, [BIN, 'worker'], {
      env: { ...process.env, ...env.env, TWOFACTOR_BASE_URL: t.sim.url, LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    try {
      for (const end = Date.now() + 40_000; Date.now() < end && t.sim.stats().acceptedRecipients < 400; ) await new Promise((r) => setTimeout(r, 100));
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
    }
    const accepted = await t.accepted();
    expect(accepted.size).toBe(400);
    expect([...accepted.values()].every((n) => n === 1)).toBe(true);
  }, 90_000);

  it('SIGINT just after the start committed (during its audit entry) still pauses the campaign', async () => {
    // The start's audit entry takes 3 s: the signal lands after the campaign is running, before sending began.
    const pg = env.container().pg;
    await pg.query(`CREATE OR REPLACE FUNCTION test_slow_start_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.action = 'campaign.start' THEN PERFORM pg_sleep(3); END IF; RETURN NEW; END $$`);
    await pg.query(`CREATE TRIGGER test_slow_start_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION test_slow_start_audit()`);
    try {
      const child = spawn(
        process.execPath,
        [BIN, 'send', csv, '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--list', 'interrupt-at-start', '--wait-reports', '0', '--json'],
        { env: { ...process.env, ...env.env, TWOFACTOR_BASE_URL: t.sim.url }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      const running = async (): Promise<boolean> =>
        (await pg.query(`SELECT 1 FROM campaigns c JOIN contact_lists l ON l.id = c.list_id WHERE l.name = 'interrupt-at-start' AND c.status = 'running'`)).rowCount === 1;
      for (const end = Date.now() + 30_000; !(await running()) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
      child.kill('SIGINT');
      expect(await exited).toBe(1);
      const out = JSON.parse(stdout) as SendJson;
      expect(out.status).toBe('paused');
      expect(out.pauseReason).toMatch(/interrupted \(SIGINT\)/);
    } finally {
      await pg.query(`DROP TRIGGER IF EXISTS test_slow_start_audit ON audit_log`);
    }
  }, 60_000);

  it('after sending, SIGINT ends the wait for delivery reports and says so, without claiming to pause the campaign', async () => {
    // Reports final only after a minute: the run is still waiting for them when the signal arrives.
    const slow = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 40, latencyMs: [10, 20], dlrDelayMs: 60_000 });
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-interrupt-wait-'));
    const small = path.join(dir, 'few.csv');
    await writeFile(small, ['phone,name', ...Array.from({ length: 5 }, (_v, i) => `98765${String(50000 + i)},N${i}`)].join('\n'));
    try {
      const child = spawn(
        process.execPath,
        [BIN, 'send', small, '--list', 'interrupt-wait', '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--wait-reports', '60', '--json'],
        { env: { ...process.env, ...env.env, TWOFACTOR_BASE_URL: slow.sim.url }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      const completed = async () =>
        (await env.container().prisma.campaign.findFirst({ where: { name: 'interrupt-wait', status: 'completed' } })) !== null;
      for (const end = Date.now() + 30_000; Date.now() < end && !(await completed()); ) await new Promise((r) => setTimeout(r, 50));
      expect(await completed()).toBe(true);
      // The run looks at the status every 500 ms: past that it is in the wait for reports.
      await new Promise((r) => setTimeout(r, 1_000));
      child.kill('SIGINT');
      const code = await exited;

      expect(stderr).toMatch(/SIGINT: ending the wait for delivery reports/);
      expect(stderr).not.toMatch(/pausing campaign/);
      expect(code).toBe(0);
      const out = JSON.parse(stdout) as SendJson & { reports: { waitedMs: number; awaiting: number } };
      expect(out.status).toBe('completed');
      expect(out.reports.awaiting).toBe(5);
      expect(out.reports.waitedMs).toBeLessThan(30_000);
    } finally {
      await slow.close();
    }
  }, 90_000);
});
