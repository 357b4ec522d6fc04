/** The operator contract for `campaign start|pause|resume|cancel|status|retry` (JSON keys, exit codes). */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign } from '../../helpers/sending-fixtures';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server';
import { pauseCampaign, startCampaign } from '../../../src/sending/campaign-control';
import { WINDOW_PAUSE_REASON } from '../../../src/campaign/send-window';

const env = useTestEnv();
const run = promisify(execFile);
const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'bulksms.js');
// `campaign start` checks the provider balance first: the simulator answers it (unlimited balance).
let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: null, latencyMs: [0, 0] });
});
afterAll(() => sim?.close());

async function cli(...args: string[]): Promise<{ code: number; json: Record<string, unknown> }> {
  try {
    const { stdout } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...env.env, TWOFACTOR_BASE_URL: sim.url } });
    return { code: 0, json: JSON.parse(stdout) as Record<string, unknown> };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, json: JSON.parse(e.stdout) as Record<string, unknown> };
  }
}

describe('bulksms campaign lifecycle commands', () => {
  it('status masks a number in the pause reason and the alert (as campaign list and the API do), not ids or credit figures', async () => {
    const { campaignId } = await seedCampaign(env.container().pg, { recipients: 1 });
    const alert = `campaign ${campaignId} not started: it needs 12345 TRANSACTIONAL_SMS credits but the provider balance is 99 (short by 12246)`;
    await env.container().pg.query(`UPDATE campaigns SET status = 'paused', pause_reason = $2, alert = $3 WHERE id = $1`, [
      campaignId, 'provider refused 919876543210: blocked', alert,
    ]);
    const status = await cli('campaign', 'status', campaignId, '--json');
    expect(status.json).toMatchObject({ status: 'paused', pauseReason: 'provider refused ********3210: blocked', alert });
  });

  it('start, status, pause, resume, cancel and retry print the contract JSON', async () => {
    const { campaignId } = await seedCampaign(env.container().pg, { recipients: 3 });
    expect(await cli('campaign', 'start', campaignId, '--json')).toMatchObject({ code: 0, json: { campaignId, status: 'running' } });
    const status = await cli('campaign', 'status', campaignId, '--json');
    expect(status.code).toBe(0);
    expect(status.json).toMatchObject({
      campaignId,
      status: 'running',
      alert: null,
      total: 3,
      counts: { pending: 3, queued: 0, sending: 0, sent: 0, delivered: 0, failed: 0, unknown: 0, suppressed: 0, cancelled: 0 },
    });
    expect(await cli('campaign', 'pause', campaignId, '--json')).toEqual({ code: 0, json: { campaignId, status: 'paused' } });
    expect(await cli('campaign', 'resume', campaignId, '--json')).toEqual({ code: 0, json: { campaignId, status: 'running' } });
    expect(await cli('campaign', 'retry', campaignId, '--json')).toEqual({ code: 0, json: { campaignId, requeued: 0, status: 'running', archiving: 0, notRetried: { failed: 0, unknown: 0 } } });
    expect(await cli('campaign', 'cancel', campaignId, '--json')).toEqual({ code: 0, json: { campaignId, status: 'cancelled' } });
    const after = await cli('campaign', 'status', campaignId, '--json', '--watch');
    expect(after.json).toMatchObject({ status: 'cancelled', counts: { cancelled: 3, pending: 0 } });
    // Resuming a cancelled campaign is a conflict (exit 2), a bad id is bad input (exit 2).
    expect((await cli('campaign', 'resume', campaignId, '--json')).code).toBe(2);
    // Starting it again says what does what the operator wanted instead.
    expect(await cli('campaign', 'start', campaignId, '--json')).toEqual({
      code: 2,
      json: { error: { code: 'conflict', message: `campaign ${campaignId} is cancelled and cannot be started: a new campaign sends to the list again` } },
    });
    // Every successful campaign action from the CLI is audited (the failed resume above is not).
    const audit = await env.container().pg.query<{ action: string; via: string }>(
      `SELECT action, details->>'via' AS via FROM audit_log WHERE target = $1 ORDER BY id`,
      [campaignId],
    );
    expect(audit.rows).toEqual(
      ['campaign.start', 'campaign.pause', 'campaign.resume', 'campaign.retry', 'campaign.cancel'].map((action) => ({ action, via: 'cli' })),
    );
    // A campaign's name where its id belongs (the commonest slip) says where the id is found.
    expect(await cli('campaign', 'pause', 'nope', '--json')).toMatchObject({
      code: 2,
      json: { error: { code: 'validation', message: 'campaign id "nope" is not a UUID: give the campaign\'s id, not its name (`bulksms campaign list` shows them)' } },
    });
    // Ten CLI processes, each starting TypeScript through tsx: slow on a busy machine.
  }, 240_000);

  it('status --watch follows a running campaign until it ends: progress on stderr, one JSON object of the final state on stdout', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 2 });
    await c.pg.query(`UPDATE campaigns SET status = 'running' WHERE id = $1`, [campaignId]);
    const child = spawn(process.execPath, [BIN, 'campaign', 'status', campaignId, '--watch', '--json'], { env: { ...process.env, ...env.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    // Still running: it keeps watching (and prints progress) instead of answering once.
    for (const end = Date.now() + 60_000; !stderr.includes(`campaign "test" ${campaignId}: running`) && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50));
    expect(stderr).toContain(`campaign "test" ${campaignId}: running`);
    expect(stdout).toBe('');
    await c.pg.query(`UPDATE campaigns SET status = 'cancelled' WHERE id = $1`, [campaignId]);
    expect(await exited).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ campaignId, status: 'cancelled' });
  }, 120_000);

  it('campaign status shows the campaign alert (JSON key `alert`, a prominent line for humans)', async () => {
    const { campaignId } = await seedCampaign(env.container().pg, { recipients: 2 });
    const alert = 'DLT-CNT-REJECT: the operator rejected the content template (2 messages)';
    await env.container().pg.query(`UPDATE campaigns SET alert = $2 WHERE id = $1`, [campaignId, alert]);
    expect(await cli('campaign', 'status', campaignId, '--json')).toMatchObject({ code: 0, json: { campaignId, status: 'draft', alert } });
    const human = await run(process.execPath, [BIN, 'campaign', 'status', campaignId], { env: { ...process.env, ...env.env } });
    const lines = human.stdout.split('\n');
    expect(lines[0]).toBe(`campaign "test" ${campaignId}: draft`);
    expect(lines[1]).toBe(`  ALERT: ${alert}`);
  }, 120_000);

  it('a start or retry that leaves the campaign paused says why (and how it continues) instead of a bare "paused"', async () => {
    const c = env.container();
    const human = async (...args: string[]) =>
      (await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...env.env, TWOFACTOR_BASE_URL: sim.url } })).stdout.trim();
    // Paused by an operator: a retry re-queues its failures, but nothing goes out until it is resumed.
    const { campaignId } = await seedCampaign(c.pg, { recipients: 3 });
    await startCampaign(c, campaignId);
    await c.pg.query(`UPDATE messages SET status = 'failed', outcome_class = 'retryable' WHERE id IN (SELECT id FROM messages WHERE campaign_id = $1 LIMIT 2)`, [campaignId]);
    await pauseCampaign(c, campaignId, 'paused by operator');
    const resumeHint = `\`bulksms campaign resume ${campaignId}\` continues it`;
    expect(await human('campaign', 'retry', campaignId)).toBe(
      `campaign ${campaignId}: 2 message(s) re-queued; they wait: the campaign is paused (paused by operator; ${resumeHint})`,
    );
    expect(await human('campaign', 'start', campaignId)).toBe(`campaign ${campaignId}: paused (paused by operator; ${resumeHint})`);
    // A reason given through the API is any text: a line break or an ANSI escape in it is blanked, as campaign status does.
    await c.pg.query(`UPDATE campaigns SET pause_reason = $2 WHERE id = $1`, [campaignId, 'line one\r\nline\u001b[2K two']);
    expect(await human('campaign', 'start', campaignId)).toBe(`campaign ${campaignId}: paused (line one  line [2K two; ${resumeHint})`);
    // A promotional campaign started at 22:00 IST waits for the window, which resumes it by itself at 09:00.
    const promo = (await seedCampaign(c.pg, { recipients: 1, type: 'promotional' })).campaignId;
    await startCampaign(c, promo, { now: new Date('2026-11-27T16:30:00Z') });
    expect(await human('campaign', 'start', promo)).toBe(`campaign ${promo}: paused (${WINDOW_PAUSE_REASON})`);
  }, 120_000);

  it('a retry says what it left as it was, and why: failures that went out or were refused for good, unknowns without --include-unknown', async () => {
    const c = env.container();
    const { campaignId } = await seedCampaign(c.pg, { recipients: 4 });
    await startCampaign(c, campaignId);
    const set = (n: number, sql: string) =>
      c.pg.query(`UPDATE messages SET ${sql} WHERE id = (SELECT id FROM messages WHERE campaign_id = $1 ORDER BY id OFFSET $2 LIMIT 1)`, [campaignId, n]);
    await set(0, `status = 'failed', outcome_class = 'retryable'`);
    await set(1, `status = 'failed', outcome_class = 'permanent_recipient', failure_reason = 'rejected for this recipient: DND'`);
    await set(2, `status = 'unknown', outcome_class = 'ambiguous'`);
    const { stdout } = await run(process.execPath, [BIN, 'campaign', 'retry', campaignId], { env: { ...process.env, ...env.env } });
    expect(stdout.trim()).toBe(
      `campaign ${campaignId}: 1 message(s) re-queued` +
        '; 1 failed message(s) not retried: a retry sends again only what certainly did not go out, not a message refused for its recipient, failed by its delivery report or missing a variable' +
        '; 1 unknown (maybe sent) not retried: --include-unknown re-sends them, possibly twice',
    );
  }, 120_000);
});
