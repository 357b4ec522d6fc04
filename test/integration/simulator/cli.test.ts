/** `bulksms simulator` as a real process: prints its URL on stderr, serves, stops on SIGTERM. */
import { spawn, type ChildProcess } from 'node:child_process';
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

it('serves on the printed URL until SIGTERM, then exits 0', async () => {
  const p = run(['--port', '0', '--latency', '0', '--rate', '50'], { TWOFACTOR_API_KEY: KEY });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const m = /listening on (http:\/\/\S+)/.exec(p.stderr());
        if (m) {
          clearInterval(timer);
          resolve(m[1]!);
        }
      }, 20);
      void p.exit.then(() => reject(new Error(`exited early: ${p.stderr()}`)));
    });
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

it('exits 2 without TWOFACTOR_API_KEY or with a bad flag', async () => {
  const noKey = run(['--port', '0'], {});
  const bad = run(['--port', '0', '--latency', 'fast'], { TWOFACTOR_API_KEY: KEY });
  expect(await noKey.exit).toBe(2);
  expect(noKey.stderr()).toContain('TWOFACTOR_API_KEY');
  expect(await bad.exit).toBe(2);
  expect(bad.stderr()).toContain('--latency');
});
