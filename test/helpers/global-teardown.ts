import { maintenanceUrl, quoteIdent, withClient } from '../../src/db/pg';
import { testServerUrl } from './urls';

export default async function globalTeardown(): Promise<void> {
  const template = process.env.BULKSMS_TEST_TEMPLATE_DB;
  if (!template) return;
  await withClient(maintenanceUrl(testServerUrl(template)).adminUrl, (c) =>
    c.query(`DROP DATABASE IF EXISTS ${quoteIdent(template)} WITH (FORCE)`),
  );
}
