import { spawn } from 'node:child_process';
import path from 'node:path';
import { request } from 'undici';
import { useTestEnv } from '../../helpers/env';
import { probeUntilProviderChecked } from '../../helpers/health';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server';

const env = useTestEnv();
const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'bulksms.js');

function run(args: string[], extraEnv: Record<string, string> = {}) {
  const { API_TOKEN: _t, ...base } = { ...process.env, ...env.env } as Record<string, string>;
  return spawn(process.execPath, [BIN, ...args], { env: { ...base, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('bulksms serve', () => {
  let sim: RunningSimulator;
  beforeAll(async () => {
    sim = await startSimulator({ apiKey: env.config.TWOFACTOR_API_KEY! });
  });
  afterAll(() => sim.close());

  it('refuses a non-loopback host without API_TOKEN (exit 2, clear message)', async () => {
    const child = run(['serve', '--host', '0.0.0.0', '--port', '0']);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/refusing to bind 0\.0\.0\.0 without API_TOKEN/);
  });

  it('refuses a --host no server can listen on (exit 2 naming --host), instead of getaddrinfo ENOTFOUND and exit 1', async () => {
    const child = run(['serve', '--host', '[::1]', '--port', '0'], { API_TOKEN: 'serve-test-token-0123456789' });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/--host must be a host name or an IP address \(an IPv6 address without brackets\) \(got "\[::1\]"\)/);
  });

  it('serves /health on an ephemeral loopback port and exits 0 on SIGTERM', async () => {
    const child = run(['serve', '--port', '0'], { TWOFACTOR_BASE_URL: sim.url });
    let stderr = '';
    const address = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /listening on (http:\/\/[^\s]+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited early (${code}): ${stderr}`)));
    });
    type Report = { status: string; checks: { provider: { status: string } } };
    const probe = async () => {
      const health = await request(`${address}/health`);
      return { statusCode: health.statusCode, report: (await health.body.json()) as Report };
    };
    const { statusCode, report } = await probeUntilProviderChecked(probe, (answer) => answer.report.checks.provider.status);
    expect(statusCode).toBe(200);
    expect(report.status).toBe('ok');
    expect(report.checks.provider.status).toBe('ok');
    const lists = await request(`${address}/api/lists`);
    expect(lists.statusCode).toBe(200);
    await lists.body.dump();
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
