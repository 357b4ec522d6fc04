import { mkdtemp, mkdir, writeFile, cp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { migrate, MIGRATIONS_DIR, MigrationError, readMigrations } from '../../../src/db/migrate';
import { maintenanceUrl, quoteIdent, withClient } from '../../../src/db/pg';
import { testServerUrl } from '../../helpers/urls';

const database = `bulksms_t_${process.env.BULKSMS_TEST_RUN_PID}_migrate_${process.pid}`;
const url = testServerUrl(database);

afterAll(async () => {
  await withClient(maintenanceUrl(url).adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`));
});

describe('migrate', () => {
  it('creates a missing database with the full schema, then is a no-op', async () => {
    // Every team adds migrations: expect all of them, oldest first, starting with the init one.
    const all = (await readMigrations()).map((m) => m.name);
    expect(all[0]).toBe('20261126000000_init');
    const first = await migrate(url);
    expect(first.createdDatabase).toBe(true);
    expect(first.applied).toEqual(all);
    const tables = await withClient(url, (c) =>
      c.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"),
    );
    expect(tables.rows.map((r) => r.tablename)).toEqual(
      expect.arrayContaining(['_prisma_migrations', 'contact_lists', 'contacts', 'campaigns', 'campaign_runs', 'messages', 'suppressions']),
    );
    const second = await migrate(url);
    expect(second).toEqual({ createdDatabase: false, applied: [], alreadyApplied: all });
    const records = await withClient(url, (c) =>
      c.query('SELECT migration_name, length(checksum) AS len, finished_at IS NOT NULL AS done FROM "_prisma_migrations" ORDER BY migration_name'),
    );
    expect(records.rows).toEqual(all.map((name) => ({ migration_name: name, len: 64, done: true })));
  });

  it('refuses a migration whose file changed after it was applied', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-mig-'));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await writeFile(path.join(dir, '20261126000000_init', 'migration.sql'), '-- edited\n', { flag: 'a' });
    await expect(migrate(url, dir)).rejects.toThrow(MigrationError);
    await expect(migrate(url, dir)).rejects.toThrow(/was changed after it was applied/);
  });

  it('applies a failing migration not at all (one transaction per migration)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-mig-'));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await mkdir(path.join(dir, '29990101000000_broken'));
    await writeFile(path.join(dir, '29990101000000_broken', 'migration.sql'), 'CREATE TABLE half_done (id int);\nSELECT 1/0;\n');
    await expect(migrate(url, dir)).rejects.toThrow(/29990101000000_broken failed/);
    const half = await withClient(url, (c) => c.query("SELECT to_regclass('public.half_done') AS t"));
    expect(half.rows[0].t).toBeNull();
  });
});
