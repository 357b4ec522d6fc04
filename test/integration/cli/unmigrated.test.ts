/**
 * The long-running commands started against a database behind the code (an upgrade whose `bulksms migrate` has not
 * run yet) refuse to start, naming what is missing. The worker used to start, send, and fail only when a query met
 * the missing table mid-campaign.
 */
import { readMigrations, pendingMigrations } from '../../../src/db/migrate';
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';

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
