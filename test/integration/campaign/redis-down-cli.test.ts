/**
 * With Redis unreachable, schedule changes still finish: PostgreSQL holds the schedule and workers rebuild Redis from
 * it, so `campaign create --cron` and `campaign cancel` commit, warn and exit — they hung for good (a BullMQ queue
 * call never settles while Redis is down), and a script retrying the create made a second campaign.
 */
import { execFile } from 'node:child_process';
import { BIN, type CliResult } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { closedPort } from '../../helpers/api-server';
import { seedList } from '../../fixtures/seed-list';

const env = useTestEnv();

/** Like runCli, but killed after `ms` (a hang shows as signal SIGTERM). */
function runBounded(args: string[], extra: Record<string, string>, ms: number): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile('node', [BIN, ...args], { env: { ...process.env, ...env.env, ...extra }, timeout: ms }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}


it('campaign create --cron and campaign cancel finish with Redis down: committed, exit 0, a warning', async () => {
  await seedList(env.container().pg, 'redis-down', ['name'], [{ phone: '+919876500001', vars: { name: 'A' } }]);
  const down = { REDIS_URL: `redis://127.0.0.1:${await closedPort()}`, LOG_LEVEL: 'warn' };
  const created = await runBounded(
    ['campaign', 'create', '--name', 'nightly', '--list', 'redis-down', '--type', 'transactional', '--from', 'TFCTOR', '--text', 'Hi {{name}}', '--cron', '0 9 * * *', '--json'],
    down,
    30_000,
  );
  expect(created.signal ?? null).toBeNull();
  expect(created.code).toBe(0);
  const { campaignId, status } = JSON.parse(created.stdout) as { campaignId: string; status: string };
  expect(status).toBe('scheduled');
  expect(created.stderr).toMatch(/schedule not queued yet/);
  expect(created.stderr).not.toMatch(/^\s+at /m); // no raw stack trace

  const cancelled = await runBounded(['campaign', 'cancel', campaignId, '--json'], down, 30_000);
  expect(cancelled.signal ?? null).toBeNull();
  expect(cancelled.code).toBe(0);
  expect(JSON.parse(cancelled.stdout)).toEqual({ campaignId, status: 'cancelled' });
  const { rows } = await env.container().pg.query<{ status: string }>(`SELECT status::text FROM campaigns WHERE id = $1`, [campaignId]);
  expect(rows[0]!.status).toBe('cancelled');
}, 90_000);
