/**
 * The API key never leaks (issue 8, security checks): with LOG_LEVEL=debug, run the CLI through migrate,
 * import, campaign create/start, a worker against the simulator, campaign status/retry, plus API requests
 * through the real server; then scan every captured byte of output, every text column of every table and
 * every Redis value under this file's prefix for the key. Also: no token / wrong token → 401, webhook
 * without its secret → rejected, oversize upload → 413.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FormData } from 'undici';
import { Redis } from 'ioredis';
import { useTestEnv } from '../../helpers/env';
import { BIN, runCli } from '../../helpers/cli';
import { TEST_API_TOKEN, TEST_WEBHOOK_SECRET, http, startApi } from '../../helpers/api-server';
import { campaignStatus, waitFor } from '../../helpers/sending-fixtures';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server';
import { createContainer } from '../../../src/container';
import { createLogger } from '../../../src/logger';
import { wiredServices } from '../../../src/cli/commands/serve';
import { logSink } from '../../helpers/log-sink';

const env = useTestEnv({ LOG_LEVEL: 'debug', API_TOKEN: TEST_API_TOKEN, WEBHOOK_SECRET: TEST_WEBHOOK_SECRET });
const KEY = env.config.TWOFACTOR_API_KEY!;
/** Every secret the environment holds: the provider key, the API token and the webhook secret. */
const SECRETS = [KEY, TEST_API_TOKEN, TEST_WEBHOOK_SECRET];
const output: string[] = [];

async function cli(args: string[], extra: Record<string, string> = {}): Promise<string> {
  const r = await runCli(args, { ...env.env, ...extra });
  output.push(r.stdout, r.stderr);
  if (r.code !== 0) throw new Error(`bulksms ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-800)}`);
  return r.stdout;
}

describe('secret scan: the API key, the API token and the webhook secret appear nowhere', () => {
  let sim: RunningSimulator;
  let dir: string;

  beforeAll(async () => {
    sim = await startSimulator({ apiKey: KEY, rate: null, latencyMs: [0, 20] });
    dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-secret-'));
  });
  afterAll(async () => {
    await sim.close();
  });

  it('CLI at debug level: migrate, import, campaign create/start, worker, status, retry', async () => {
    const simEnv = { TWOFACTOR_BASE_URL: sim.url };
    await cli(['migrate']);
    const csv = path.join(dir, 'contacts.csv');
    const lines = ['phone,name', ...Array.from({ length: 30 }, (_v, i) => `98765${String(43210 + i).padStart(5, '0')},N${i}`), 'not-a-phone,Bad'];
    await writeFile(csv, `${lines.join('\n')}\n`);
    const imported = JSON.parse(await cli(['import', csv, '--list', 'secret-scan', '--json'])) as { accepted: number; rejected: number };
    expect(imported.accepted).toBe(30);
    expect(imported.rejected).toBe(1);
    const created = JSON.parse(
      await cli(['campaign', 'create', '--name', 'scan', '--list', 'secret-scan', '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--json']),
    ) as { campaignId: string };
    // The start checks the balance with the simulator (the key travels in the URL path: scrubbed everywhere).
    await cli(['campaign', 'start', created.campaignId, '--json'], simEnv);

    const worker = spawn('node', [BIN, 'worker', '--concurrency', '10'], { env: { ...process.env, ...env.env, ...simEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    worker.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    worker.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    const exited = new Promise((r) => worker.once('close', r));
    const c = env.container();
    try {
      await waitFor('campaign completed', async () => (await campaignStatus(c.pg, created.campaignId)) === 'completed', 90_000, 250);
    } finally {
      worker.kill('SIGTERM');
      await exited;
    }
    const status = JSON.parse(await cli(['campaign', 'status', created.campaignId, '--json'])) as { counts: { sent: number } };
    expect(status.counts.sent).toBe(30);
    await cli(['campaign', 'retry', created.campaignId, '--include-unknown', '--json']);
    // Status once more with the provider URL in the environment (the key is then configured and reachable).
    await runCli(['campaign', 'status', created.campaignId], { ...env.env, ...simEnv }).then((r) => output.push(r.stdout, r.stderr));
    expect(output.join('').length).toBeGreaterThan(1000); // debug logging really produced output to scan
  }, 180_000);

  it('HTTP API with the real services: 401 without/with a wrong token, webhook secret, 413', async () => {
    const { destination: logs } = logSink(output);
    const config = env.config;
    const container = createContainer({
      config,
      logger: createLogger({ level: 'debug', secrets: [KEY, config.API_TOKEN, config.WEBHOOK_SECRET], destination: logs }),
    });
    const api = await startApi(container, wiredServices(), { maxUploadBytes: 4096 });
    try {
      expect((await http('GET', `${api.url}/api/campaigns`, { token: null })).status).toBe(401);
      expect((await http('GET', `${api.url}/api/campaigns`, { token: 'wrong-token-0123456789abcdef' })).status).toBe(401);
      const list = await http('GET', `${api.url}/api/campaigns`);
      output.push(list.text);
      expect(list.status).toBe(200);
      const hook = await http('POST', `${api.url}/webhooks/dlr/not-the-secret-0123456789`, {
        token: null,
        body: 'SessionId=x&SmsTo=919876543210&SmsStatus=DELIVERED',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect([401, 403, 404]).toContain(hook.status);
      const form = new FormData();
      form.append('name', 'too-big');
      form.append('file', new Blob([`phone\n${'9876543210\n'.repeat(2000)}`]), 'big.csv');
      const big = await http('POST', `${api.url}/api/lists`, { body: form });
      output.push(big.text);
      expect(big.status).toBe(413);
    } finally {
      await api.close();
      await container.close();
    }
  });

  it('finds no secret in any output, database text or Redis value', async () => {
    expect(output.filter((o) => SECRETS.some((secret) => o.includes(secret)))).toEqual([]);
    const c = env.container();
    const { rows: tables } = await c.pg.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
    );
    expect(tables.length).toBeGreaterThan(3);
    const hits: string[] = [];
    let scannedRows = 0;
    for (const { table_name } of tables) {
      const { rows } = await c.pg.query<{ n: number; total: number }>(
        `SELECT count(*) FILTER (WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0 OR strpos(t::text, $3) > 0)::int AS n,
                count(*)::int AS total
           FROM "${table_name.replace(/"/g, '""')}" t`,
        SECRETS,
      );
      scannedRows += rows[0]!.total;
      if (rows[0]!.n > 0) hits.push(`${table_name}: ${rows[0]!.n}`);
    }
    expect(scannedRows).toBeGreaterThan(30);
    expect(hits).toEqual([]);

    const redis = new Redis(env.config.REDIS_URL);
    try {
      const leaks: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${env.config.QUEUE_PREFIX}:*`, 'COUNT', 500);
        cursor = next;
        for (const k of keys) {
          const type = await redis.type(k);
          const value =
            type === 'hash' ? JSON.stringify(await redis.hgetall(k))
            : type === 'string' ? ((await redis.get(k)) ?? '')
            : type === 'list' ? (await redis.lrange(k, 0, -1)).join('\n')
            : type === 'zset' ? (await redis.zrange(k, '0', '-1')).join('\n')
            : type === 'set' ? (await redis.smembers(k)).join('\n')
            : '';
          if (SECRETS.some((secret) => value.includes(secret) || k.includes(secret))) leaks.push(k);
        }
      } while (cursor !== '0');
      expect(leaks).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
