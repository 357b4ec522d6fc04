import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { TestEnv } from '../../helpers/env';
import { importContacts, type ImportOptions, type ImportResult } from '../../../src/import/import-contacts';

export const FIXTURES = path.resolve(__dirname, '../../fixtures/import');

export interface StoredContact {
  line: number;
  phone: string;
  raw: string;
  vars: Record<string, string>;
}

let counter = 0;

export function importer(env: TestEnv) {
  const c = () => env.container();
  return {
    async file(name: string, opts: Partial<ImportOptions> = {}): Promise<ImportResult> {
      return this.stream(createReadStream(path.join(FIXTURES, name)), { fileName: name, ...opts });
    },
    async stream(source: Readable, opts: Partial<ImportOptions> = {}): Promise<ImportResult> {
      return importContacts(c(), source, { listName: `list-${++counter}`, fileName: 'upload.csv', ...opts });
    },
    async contacts(listId: string): Promise<StoredContact[]> {
      const { rows } = await c().pg.query<{ source_line: number; phone: string; raw_phone: string; variables: Record<string, string> }>(
        'SELECT source_line, phone, raw_phone, variables FROM contacts WHERE list_id = $1 ORDER BY source_line',
        [listId],
      );
      return rows.map((r) => ({ line: r.source_line, phone: r.phone, raw: r.raw_phone, vars: r.variables }));
    },
    async list(name: string): Promise<{ id: string; status: string; failure_reason: string | null; contacts: number } | undefined> {
      const { rows } = await c().pg.query<{ id: string; status: string; failure_reason: string | null; contacts: number }>(
        `SELECT l.id, l.status, l.failure_reason, (SELECT count(*)::int FROM contacts WHERE list_id = l.id) AS contacts
         FROM contact_lists l WHERE l.name = $1`,
        [name],
      );
      return rows[0];
    },
    nextName(): string {
      return `list-${counter + 1}`;
    },
    reports(): string[] {
      try {
        return readdirSync(env.config.REPORTS_DIR);
      } catch {
        return [];
      }
    },
  };
}

export function reportLines(file: string | null): string[] {
  if (file === null) throw new Error('no reject report');
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}
