/**
 * The long-running commands started against a database behind the code (an upgrade whose `bulksms migrate` has not
 * run yet) refuse to start, naming what is missing. The worker used to start, send, and fail only when a query met
 * the missing table mid-campaign. So do the one-shot `send`'s in-process workers, before anything is imported.
 */
import { readMigrations, pendingMigrations } from '../../../src/db/migrate';
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator } from '../../helpers/sending-simulator';
import { writeTempCsv } from '../../helpers/temp-csv';

const env = useTestEnv();
let latest: string;

beforeAll(async () => {
  const migrations = await readMigrations();
  latest = migrations[migrations.length - 1]!.name;
  const pg = env.container().pg;
  expect(await pendingMigrations(pg)).toEqual([]);
  // The database as the previous release left it: the latest migration (a new table) not applied.
  await pg.query('DROP TABLE run_archived_counts');
  await pg.query('DELETE FROM "_prisma_migrations" WHERE migration_name = $1', [latest]);
});

it.each([
  ['worker', ['worker']],
  ['serve', ['serve', '--port', '0']],
])('%s exits 1 at once, saying which migration is pending and what applies it', async (_name, args) => {
  // Bounded: on a database it does not check, the command runs until it is killed.
  const result = await runCli(args, env.env, { timeoutMs: 20_000 });
  expect(result.stderr).toContain(`the database is not migrated: 1 migration is pending (${latest}); run \`bulksms migrate\` first`);
  expect(result.code).toBe(1);
}, 30_000);

it('send exits 1 before importing anything, with the same message', async () => {
  const t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 200, latencyMs: [5, 20] });
  try {
    const csv = await writeTempCsv('bulksms-unmigrated-send-', ['phone,name', '9876572001,Asha'].join('\n'));
    const result = await runCli(
      ['send', csv, '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--wait-reports', '0'],
      { ...env.env, TWOFACTOR_BASE_URL: t.sim.url },
      { timeoutMs: 30_000 },
    );
    expect(result.stderr).toContain(`the database is not migrated: 1 migration is pending (${latest}); run \`bulksms migrate\` first`);
    expect(result.code).toBe(1);
    const lists = await env.container().pg.query<{ n: number }>('SELECT count(*)::int AS n FROM contact_lists');
    expect(lists.rows[0]!.n).toBe(0);
  } finally {
    await t.close();
  }
}, 40_000);
