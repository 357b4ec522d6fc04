/**
 * Hostile-input corpus (issue 8): every file under test/fixtures/hostile ends in a clear error or an exact
 * row report, as test/fixtures/hostile/expected.json says; never a crash, a hang or a half-visible list.
 */
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { useTestEnv } from '../../helpers/env';
import { ImportError } from '../../../src/import/import-contacts';
import { generatedFiles } from '../../fixtures/hostile/generated';
import { importer, reportLines } from './helpers';

interface Case {
  file: string;
  what: string;
  /** Not committed: `single-line` is streamed lazily (`bytes` long), `file` is built by generated.ts. */
  generated?: 'single-line' | 'file';
  bytes?: number;
  error?: string;
  result?: { rows: number; accepted: number; rejected: number; duplicates: number; suppressed: number };
  contacts?: { line: number; phone: string; vars: Record<string, string> }[];
  report?: string[];
}

const DIR = path.resolve(__dirname, '../../fixtures/hostile');
const { cases } = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8')) as { cases: Case[] };
const env = useTestEnv();
const imp = importer(env);

/** A file that is one line of `bytes` characters, produced lazily; counts what the importer pulled. */
function singleLine(bytes: number): { stream: Readable; pulled: () => number } {
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const stream = new Readable({
    read() {
      if (sent >= bytes) this.push(null);
      else {
        sent += chunk.length;
        this.push(chunk);
      }
    },
  });
  return { stream, pulled: () => sent };
}

/** A file generated.ts builds, in the 64 KiB chunks a file read gives (the decoder's sample and chunk ends matter). */
function builtFile(name: string): Readable {
  const data = generatedFiles[name]!();
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += 64 * 1024) chunks.push(data.subarray(i, i + 64 * 1024));
  return Readable.from(chunks);
}

describe('hostile input corpus', () => {
  it('covers every file in the folder and at least 30 of them', () => {
    const files = readdirSync(DIR).filter((f) => !f.endsWith('.ts') && f !== 'expected.json');
    expect(files.sort()).toEqual(cases.filter((c) => !c.generated).map((c) => c.file).sort());
    expect(files.length).toBeGreaterThanOrEqual(30);
    expect(Object.keys(generatedFiles).sort()).toEqual(cases.filter((c) => c.generated === 'file').map((c) => c.file).sort());
  });

  it.each(cases.map((c) => [`${c.file}: ${c.what}`, c] as const))('%s', async (_title, c) => {
    const listName = imp.nextName();
    const big = c.generated === 'single-line' ? singleLine(c.bytes!) : null;
    const source = big ? big.stream : c.generated === 'file' ? builtFile(c.file) : createReadStream(path.join(DIR, c.file));
    const outcome = await imp.stream(source, { fileName: c.file }).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    if (c.error !== undefined) {
      expect('error' in outcome && outcome.error).toBeInstanceOf(ImportError);
      expect('error' in outcome && (outcome.error as Error).message).toBe(c.error);
      expect(await imp.list(listName)).toMatchObject({ status: 'failed', failure_reason: c.error, contacts: 0 });
      if (big) expect(big.pulled()).toBeLessThan(1024 * 1024); // stopped early, did not read 50 MB
      return;
    }
    if (!('result' in outcome)) throw outcome.error;
    const r = outcome.result;
    expect({ rows: r.rows, accepted: r.accepted, rejected: r.rejected, duplicates: r.duplicates, suppressed: r.suppressed }).toEqual(c.result);
    expect(r.rows).toBe(r.accepted + r.rejected + r.duplicates + r.suppressed);
    expect(await imp.contacts(r.listId)).toEqual(c.contacts!.map((x) => ({ ...x, raw: expect.any(String) })));
    expect(r.rejectReport === null ? [] : reportLines(r.rejectReport).slice(1)).toEqual(c.report);
    expect(await imp.list(listName)).toMatchObject({ status: 'ready', contacts: r.accepted });
  });
});
