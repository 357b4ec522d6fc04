/** `bulksms simulator` as a real process: prints its URL on stderr, serves, stops on SIGTERM. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(__dirname, '../../../bin/bulksms.js');
const KEY = 'cli-key-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d';

function run(args: string[], env: Record<string, string | undefined>): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'simulator', ...args], {
    env: { ...process.env, LOG_LEVEL: 'silent', TWOFACTOR_API_KEY: undefined, ...env },
    // Outside the repo so a developer's .env cannot supply the key.
    cwd: tmpdir(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stderr: () => err, exit };
}

function listening(p: ReturnType<typeof run>): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on (http:\/\/\S+)/.exec(p.stderr());
      if (m) {
        clearInterval(timer);
        resolve(m[1]!);
      }
    }, 20);
    void p.exit.then(() => {
      clearInterval(timer);
      reject(new Error(`exited early: ${p.stderr()}`));
    });
  });
}

async function postConfig(url: string, patch: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/__config`, { method: 'POST', body: JSON.stringify(patch) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

it('serves on the printed URL until SIGTERM, then exits 0', async () => {
  const p = run(['--port', '0', '--latency', '0', '--rate', '50'], { TWOFACTOR_API_KEY: KEY });
  try {
    const url = await listening(p);
    const bal = await fetch(`${url}/API/V1/${KEY}/ADDON_SERVICES/BAL/TRANSACTIONAL_SMS`);
    expect(await bal.json()).toEqual({ Status: 'Success', Details: '1000000000' });
    const wrong = await fetch(`${url}/API/V1/not-the-key/ADDON_SERVICES/BAL/TRANSACTIONAL_SMS`);
    expect(await wrong.json()).toEqual({ Status: 'Error', Details: 'Invalid API Key - No Account Exists' });
    expect(await (await fetch(`${url}/__stats`)).json()).toMatchObject({ apiRequests: 2, errors: { invalid_key: 1 } });
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
    expect(p.stderr()).not.toContain(KEY);
  } finally {
    p.child.kill('SIGKILL');
  }
});

it('--help into a reader that already quit (`| head`) exits quietly with 141 (as SIGPIPE ends a Unix tool), not with an unhandled EPIPE', async () => {
  const p = run(['--help'], {});
  p.child.stdout!.destroy(); // like `| head -1` gone before the help is printed
  expect(await p.exit).toBe(141);
  expect(p.stderr()).not.toMatch(/EPIPE|Unhandled|Error/);
});

it('exits 2 without TWOFACTOR_API_KEY or with a bad flag', async () => {
  const noKey = run(['--port', '0'], {});
  const bad = run(['--port', '0', '--latency', 'fast'], { TWOFACTOR_API_KEY: KEY });
  expect(await noKey.exit).toBe(2);
  expect(noKey.stderr()).toContain('TWOFACTOR_API_KEY');
  expect(await bad.exit).toBe(2);
  expect(bad.stderr()).toContain('--latency');
});

// A value out of range was reported under the simulator's internal option id ("failRate: Too big", "rate: … >0"
// when 0 is what --rate takes for unlimited): the message names the flag the operator typed.
it.each([
  [['--fail-rate', '2'], '--fail-rate: Too big', 'failRate'],
  [['--invalid-key-from', '0'], '--invalid-key-from: Too small', 'invalidKeyFromRequest'],
  [['--dlr-fail-rate', '0.6', '--dlt-reject-rate', '0.6'], '--dlr-fail-rate + --dlt-reject-rate must be <= 1', 'dlrFailRate'],
  [['--rate', '-5'], '--rate must be 0 (unlimited) or more, got "-5"', '>0'],
])('%j: exit 2 naming the flag as typed', async (flags, says, notSays) => {
  const p = run(['--port', '0', ...flags], { TWOFACTOR_API_KEY: KEY });
  try {
    expect(await p.exit).toBe(2);
    expect(p.stderr()).toContain(says);
    expect(p.stderr()).not.toContain(notSays);
  } finally {
    p.child.kill('SIGKILL');
  }
});

// The chaos suite drives a simulator process with these flags and patches faults in over /__config.
it('passes every fault flag to the simulator, takes patches over /__config, and flushes --log on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulksms-sim-cli-'));
  const log = join(dir, 'accepted.jsonl');
  const flags = ['--rate', '400', '--latency', '20-150', '--dlr-delay-ms', '0', '--fail-rate', '0.05', '--hang-rate', '0.01'];
  const p = run(['--port', '0', ...flags, '--balance', '7', '--invalid-key-from', '5000', '--log', log], { TWOFACTOR_API_KEY: KEY });
  try {
    const url = await listening(p);
    // An empty patch answers the options in force (key hidden).
    expect(await postConfig(url, {})).toMatchObject({
      rate: 400, latencyMs: [20, 150], dlrDelayMs: 0, failRate: 0.05, hangRate: 0.01, balance: 7, invalidKeyFromRequest: 5000, logPath: log,
    });
    const cleared = await postConfig(url, { failRate: 0, hangRate: 0, balance: null, invalidKeyFromRequest: null, rate: 100 });
    expect(cleared).toMatchObject({ failRate: 0, hangRate: 0, balance: null, invalidKeyFromRequest: null, rate: 100 });
    const body = new URLSearchParams({ module: 'TRANS_SMS', apikey: KEY, from: 'ACMEIN', to: '919000000001,919000000002', msg: 'logged' });
    const sent = await fetch(`${url}/API/R1/`, { method: 'POST', body });
    expect(await sent.json()).toMatchObject({ Status: 'Success' });
    p.child.kill('SIGTERM');
    expect(await p.exit).toBe(0);
    const logged = readFileSync(log, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { to: string }).to);
    expect(logged).toEqual(['919000000001', '919000000002']);
  } finally {
    p.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

it('refuses a --host no server can listen on: exit 2 naming --host, instead of getaddrinfo ENOTFOUND and exit 1', async () => {
  const p = run(['--port', '0', '--host', 'localhost:4010'], { TWOFACTOR_API_KEY: KEY });
  try {
    expect(await p.exit).toBe(2);
    expect(p.stderr()).toMatch(/--host must be a host name or an IP address \(an IPv6 address without brackets\) \(got "localhost:4010"\)/);
  } finally {
    p.child.kill('SIGKILL');
  }
});

it('refuses a --log it cannot append to: exit 2 naming --log, instead of running with no log and not a word', async () => {
  const p = run(['--port', '0', '--log', join(tmpdir(), 'no-such-dir-bulksms', 'accepted.jsonl')], { TWOFACTOR_API_KEY: KEY });
  try {
    const code = await Promise.race([p.exit, new Promise((r) => setTimeout(() => r('still running'), 15_000))]);
    expect(code).toBe(2);
    expect(p.stderr()).toMatch(/--log: cannot append to ".*no-such-dir-bulksms\/accepted\.jsonl" \(ENOENT\)/);
  } finally {
    p.child.kill('SIGKILL');
  }
}, 30_000);
