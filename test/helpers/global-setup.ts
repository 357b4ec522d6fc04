/**
 * Runs once per jest run: makes sure PostgreSQL and Redis are up, then builds a migrated template
 * database. Each test file clones it (CREATE DATABASE … TEMPLATE), which takes ~100 ms instead of
 * re-running migrations. The template name carries the pid so concurrent jest runs do not collide.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { migrate } from '../../src/db/migrate';
import { maintenanceUrl, quoteIdent, withClient } from '../../src/db/pg';
import { pidAlive } from './process';
import { testServerUrl } from './urls';

export default async function globalSetup(): Promise<void> {
  execFileSync('node', [path.join(__dirname, '..', '..', 'scripts', 'ensure-services.js')], { stdio: 'inherit' });
  const template = `bulksms_tpl_${process.pid}`;
  const url = testServerUrl(template);
  const { adminUrl } = maintenanceUrl(url);
  await withClient(adminUrl, async (c) => {
    // Leftovers of earlier runs that were killed before their teardown.
    const stale = await c.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'bulksms_tpl_%' OR datname LIKE 'bulksms_t_%'",
    );
    for (const { datname } of stale.rows) {
      const pid = Number(datname.split('_')[2]);
      if (datname.startsWith('bulksms_tpl_') && pid && pidAlive(pid)) continue;
      if (datname.startsWith('bulksms_t_') && pid && pidAlive(pid)) continue;
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)} WITH (FORCE)`).catch(() => undefined);
    }
    await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(template)} WITH (FORCE)`);
  });
  await migrate(url);
  process.env.BULKSMS_TEST_TEMPLATE_DB = template;
  process.env.BULKSMS_TEST_RUN_PID = String(process.pid);
}

