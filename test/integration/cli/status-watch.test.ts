/**
 * `bulksms campaign status <id> --watch`: re-prints until the campaign ends, then prints the final state (with
 * --json: the one object, progress on stderr); a reader that stops early is no failure.
 */
import { spawn } from 'node:child_process';
import { BIN, runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { writeTempCsv } from '../../helpers/temp-csv';

const env = useTestEnv();

async function draftCampaign(list: string): Promise<string> {
  const csv = await writeTempCsv('bulksms-watch-', ['phone,name', '9876560001,A', '9876560002,B'].join('\n'));
  expect((await runCli(['import', csv, '--list', list, '--json'], env.env)).code).toBe(0);
  const created = await runCli(['campaign', 'create', '--name', list, '--list', list, '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--json'], env.env);
  expect(created.code).toBe(0);
  return (JSON.parse(created.stdout) as { campaignId: string }).campaignId;
}

function watch(campaignId: string, extra: string[] = []) {
  const child = spawn(process.execPath, [BIN, 'campaign', 'status', campaignId, '--watch', ...extra], {
    env: { ...process.env, ...env.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, out, exited };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !check(); waited += 50) {
    if (waited > 30_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('bulksms campaign status --watch', () => {
  it('ends when the campaign ends, with the final state as the one JSON object', async () => {
    const id = await draftCampaign('watch-ends');
    const w = watch(id, ['--json']);
    await until(() => /: draft/.test(w.out.stderr), 'the first progress print');
    expect((await runCli(['campaign', 'cancel', id, '--json'], env.env)).code).toBe(0);
    expect(await w.exited).toBe(0);
    expect(w.out.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(w.out.stdout)).toMatchObject({ campaignId: id, status: 'cancelled' });
  }, 60_000);

  it('ends when the campaign is paused (only a resume moves it again), with the pause reason', async () => {
    await draftCampaign('watch-paused'); // for its list
    const at = new Date(Date.now() + 3_600_000).toISOString();
    const scheduled = await runCli(['campaign', 'create', '--name', 'watch-paused-at', '--list', 'watch-paused', '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--at', at, '--json'], env.env);
    expect(scheduled.code).toBe(0);
    const scheduledId = (JSON.parse(scheduled.stdout) as { campaignId: string }).campaignId;
    const w = watch(scheduledId, ['--json']);
    await until(() => /: scheduled/.test(w.out.stderr), 'the first progress print');
    expect((await runCli(['campaign', 'pause', scheduledId, '--json'], env.env)).code).toBe(0);
    expect(await w.exited).toBe(0);
    expect(JSON.parse(w.out.stdout)).toMatchObject({ campaignId: scheduledId, status: 'paused', pauseReason: 'paused by operator' });
  }, 60_000);

  // Killed outright by the signal, a script's `timeout 600 … --watch --json` found no object on stdout at all.
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s ends the watch with the last state as the one JSON object, exit %i', async (signal, code) => {
    const id = await draftCampaign(`watch-${signal.toLowerCase()}`);
    const w = watch(id, ['--json']);
    await until(() => /: draft/.test(w.out.stderr), 'the first progress print');
    w.child.kill(signal);
    expect(await w.exited).toBe(code);
    expect(w.out.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(w.out.stdout)).toMatchObject({ campaignId: id, status: 'draft', total: 0 });
    await runCli(['campaign', 'cancel', id], env.env);
  }, 60_000);

  it('a reader that closes the pipe early ends it quietly, exit 141 (as SIGPIPE ends a Unix tool: `| head` stays quiet, `pipefail` sees it)', async () => {
    const id = await draftCampaign('watch-pipe');
    const w = watch(id);
    await until(() => w.out.stdout.includes('waiting:'), 'the first print');
    w.child.stdout.destroy(); // like `| head -1` exiting: the next print meets a closed pipe
    expect(await w.exited).toBe(141);
    expect(w.out.stderr).not.toMatch(/fatal|EPIPE/);
    await runCli(['campaign', 'cancel', id], env.env);
  }, 60_000);
});
