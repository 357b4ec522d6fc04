/** The reject report holds raw rows (phone numbers, names): it and the directories created for it are the owner's only. */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modeOf, modesUnder, withUmask022 } from '../../helpers/file-modes';
import { useTestEnv } from '../../helpers/env';
import { importer } from './helpers';

const base = path.join(os.tmpdir(), `bulksms-private-reports-${randomBytes(4).toString('hex')}`);
const env = useTestEnv({ REPORTS_DIR: path.join(base, 'reports', 'imports') });
const imp = importer(env);
withUmask022();
afterAll(() => rmSync(base, { recursive: true, force: true }));

it('creates the reject report 0600 and the report directories it makes 0700', async () => {
  const r = await imp.file('ragged.csv');
  expect(r.rejected).toBeGreaterThan(0);
  expect(r.rejectReport).toBe(path.join(base, 'reports', 'imports', `import-${r.listId}-rejects.csv`));
  expect(modesUnder(base)).toEqual({
    reports: '0700',
    'reports/imports': '0700',
    [`reports/imports/import-${r.listId}-rejects.csv`]: '0600',
  });
  expect(modeOf(r.rejectReport!)).toBe('0600');
});
