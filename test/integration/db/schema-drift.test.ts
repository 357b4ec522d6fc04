import { readFile, mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { migrate, MIGRATIONS_DIR, readMigrations } from '../../../src/db/migrate';
import { maintenanceUrl, quoteIdent, withClient } from '../../../src/db/pg';
import { useTestEnv } from '../../helpers/env';
import { parsePrismaSchema } from '../../helpers/prisma-schema';
import { findDrift } from '../../helpers/schema-drift';
import { testServerUrl } from '../../helpers/urls';

const env = useTestEnv();

async function loadSchema() {
  return parsePrismaSchema(await readFile(path.join(MIGRATIONS_DIR, '..', 'schema.prisma'), 'utf8'));
}

describe('schema.prisma against the migrated database', () => {
  it('finds every model, column, type, nullability, default and index in the database', async () => {
    const schema = await loadSchema();
    expect(schema.models.length).toBeGreaterThanOrEqual(8);
    const drift = await withClient(env.config.DATABASE_URL, (db) => findDrift(schema, db));
    expect(drift).toEqual([]);
  });

  it('reports a column that the SQL migrations no longer create', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-drift-'));
    for (const m of await readMigrations()) {
      await mkdir(path.join(dir, m.name));
      // Remove the raw_phone column from the contacts table.
      await writeFile(path.join(dir, m.name, 'migration.sql'), m.sql.replace(/^\s*"raw_phone" TEXT NOT NULL,\n/m, ''));
    }
    const database = `${new URL(env.config.DATABASE_URL).pathname.slice(1)}_drift`;
    const url = testServerUrl(database);
    try {
      await migrate(url, dir);
      const drift = await withClient(url, async (db) => findDrift(await loadSchema(), db));
      expect(drift).toContain('column contacts.raw_phone (Contact.rawPhone) missing');
    } finally {
      await withClient(maintenanceUrl(url).adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`));
    }
  });
});
