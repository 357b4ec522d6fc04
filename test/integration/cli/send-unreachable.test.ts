/** `bulksms send` against a provider nobody answers (nothing goes out, the campaign ends `failed`, exit 1), and without a key at all. */
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { closedPort } from '../../helpers/api-server';
import { writeTempCsv } from '../../helpers/temp-csv';

const env = useTestEnv({ SMS_MAX_ATTEMPTS: '1' });


it('ends failed with exit 1 when every message failed and none went out', async () => {
  const csv = await writeTempCsv('bulksms-unreachable-', ['phone', ...Array.from({ length: 5 }, (_v, i) => `98765${String(41000 + i)}`)].join('\n'));
  const r = await runCli(
    ['send', csv, '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi', '--list', 'unreachable', '--force', '--wait-reports', '0', '--json'],
    { ...env.env, TWOFACTOR_BASE_URL: `http://127.0.0.1:${await closedPort()}` },
  );
  expect(r.code).toBe(1);
  const out = JSON.parse(r.stdout) as { status: string; counts: Record<string, number> };
  expect(out.status).toBe('failed');
  expect(out.counts).toMatchObject({ failed: 5, sent: 0, unknown: 0 });
}, 60_000);

it('without TWOFACTOR_API_KEY refuses before anything is stored (exit 2), --force included', async () => {
  const csv = await writeTempCsv('bulksms-nokey-', ['phone', '9876542001', '9876542002'].join('\n'));
  const r = await runCli(
    ['send', csv, '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi', '--list', 'no-key', '--force', '--wait-reports', '0', '--json'],
    { ...env.env, TWOFACTOR_API_KEY: '' }, // empty = unset (config.ts)
  );
  expect(r.code).toBe(2);
  expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'validation', field: 'TWOFACTOR_API_KEY' } });
  const { rows } = await env.container().pg.query(
    `SELECT (SELECT count(*)::int FROM contact_lists WHERE name = 'no-key') AS lists, (SELECT count(*)::int FROM campaigns WHERE name = 'no-key') AS campaigns`,
  );
  expect(rows).toEqual([{ lists: 0, campaigns: 0 }]);
}, 60_000);
