/**
 * ContactWriter's two kinds of row: those its Bloom filter calls "certainly new" are only loaded, the rest
 * are also noted for the end-of-import duplicate pass. A filter far too small (every row "maybe seen") and
 * the real one must store exactly the same contacts and report exactly the same duplicates.
 */
import { ContactWriter, type ContactRow } from '../../../src/import/contact-writer';
import { createDuplicateTables, duplicateVerdicts, REMOVE_DUPLICATES_SQL } from '../../../src/import/duplicates';
import { beginListTransaction, createImportingList } from '../../../src/import/list-store';
import { RejectReport } from '../../../src/import/reject-report';
import { ReportSpool, writeReport } from '../../../src/import/report-spool';
import { SeenPhones } from '../../../src/import/seen-phones';
import { manyContacts, seedList } from '../../fixtures/seed-list';
import { useTestEnv } from '../../helpers/env';
import { reportLines } from './helpers';

const env = useTestEnv();

/**
 * Two numbers with the same 32-bit hash in SeenPhones (found by search): telling duplicates apart must
 * compare numbers, not hashes. Line 952 repeats 951, whose hash 950 had first.
 */
const HASH_TWINS: Record<number, string> = { 950: '+919870049599', 951: '+919870212382', 952: '+919870212382' };

/**
 * 1,000 lines in batches of 100; past line 352 every 7th repeats the number of line n-350 (an earlier
 * batch); 500 repeats 499 (same batch); 900 and 901 both repeat line 3 (an earlier batch, twice in one).
 */
function rows(): ContactRow[] {
  const out: ContactRow[] = [];
  for (let line = 2; line < 1002; line++) {
    const n = line % 7 === 0 && line > 352 ? line - 350 : line === 500 ? 499 : line === 900 || line === 901 ? 3 : line;
    const phone = HASH_TWINS[line] ?? `+9198760${String(n).padStart(5, '0')}`;
    out.push({ phone, raw: phone, variablesCopy: `{"n":"${line}"}`, line, rawRow: `P${line},${phone}` });
  }
  return out;
}

async function write(seen: SeenPhones, name: string) {
  const pg = env.container().pg;
  const listId = await createImportingList(pg, { name, sourceFile: 'x.csv', country: 'IN' });
  const report = new RejectReport(env.config.REPORTS_DIR, `writer-${name}`);
  const spool = new ReportSpool(env.config.REPORTS_DIR, `writer-${name}`);
  const client = await pg.connect();
  try {
    await beginListTransaction(client, listId);
    const writer = await ContactWriter.open(client, listId, 'phone', spool, false, 100, seen);
    for (const r of rows()) {
      writer.add(r);
      if (writer.full) await writer.flush();
    }
    const counts = await writer.finish();
    await writeReport(spool, duplicateVerdicts(client, 7), report, 'phone');
    await spool.discard();
    await client.query('COMMIT');
    const stored = await pg.query<{ source_line: number; phone: string; variables: { n: string } }>(
      'SELECT source_line, phone, variables FROM contacts WHERE list_id = $1 ORDER BY id',
      [listId],
    );
    return { counts, stored: stored.rows, report: reportLines(await report.close()) };
  } finally {
    client.release();
  }
}

describe('ContactWriter', () => {
  it('stores and reports the same whether rows are inserted blind or checked against the table first', async () => {
    const real = await write(new SeenPhones(), 'real-filter');
    const tiny = await write(new SeenPhones(5), 'tiny-filter');
    // The reference: first occurrence of each number wins.
    const firstLine = new Map<string, number>();
    const lost: string[] = [];
    for (const r of rows()) {
      const kept = firstLine.get(r.phone);
      if (kept === undefined) firstLine.set(r.phone, r.line);
      else lost.push(`${r.line},"${r.rawRow}",phone,duplicate of line ${kept}: ${r.phone}`);
    }
    const duplicates = lost.length;
    expect(duplicates).toBeGreaterThan(40);
    expect(real.counts).toEqual({ accepted: 1000 - duplicates, duplicates, suppressed: 0 });
    expect(tiny.counts).toEqual(real.counts);
    expect(tiny.stored).toEqual(real.stored);
    expect(tiny.report).toEqual(real.report);
    // First occurrence wins, in line order, and ids follow line order.
    expect(real.stored.map((s) => s.source_line)).toEqual([...real.stored.map((s) => s.source_line)].sort((a, b) => a - b));
    expect(real.stored.find((s) => s.phone === '+919876000499')).toEqual({ source_line: 499, phone: '+919876000499', variables: { n: '499' } });
    expect(real.stored.map((s) => [s.phone, s.source_line])).toEqual([...firstLine]);
    expect(real.report).toEqual(['source_line,raw_row,column,reason', ...lost]);
    expect(real.report).toContain('500,"P500,+919876000499",phone,duplicate of line 499: +919876000499');
    expect(real.report).toContain('357,"P357,+919876000007",phone,duplicate of line 7: +919876000007');
    expect(real.report).toContain('900,"P900,+919876000003",phone,duplicate of line 3: +919876000003');
    expect(real.report).toContain('901,"P901,+919876000003",phone,duplicate of line 3: +919876000003');
    expect(real.report).toContain('952,"P952,+919870212382",phone,duplicate of line 951: +919870212382');
  });

  it('settles duplicates through the list\'s own rows, never a scan of the whole contacts table', async () => {
    // Vacuumed while empty, then filled: plans from those statistics once scanned every list per batch.
    const pg = env.container().pg;
    await pg.query('DELETE FROM contact_lists');
    await pg.query('VACUUM contacts');
    await seedList(pg, 'other', [], manyContacts(30_000));
    const listId = await seedList(pg, 'big', [], manyContacts(30_000));
    const client = await pg.connect();
    try {
      await client.query('BEGIN');
      await createDuplicateTables(client);
      await client.query(`INSERT INTO pg_temp.import_candidates SELECT '+9190' || lpad((i * 997)::text, 8, '0') FROM generate_series(0, 39) i`);
      await client.query('ANALYZE pg_temp.import_candidates');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${REMOVE_DUPLICATES_SQL}`, [listId]);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Scan (using|on) contacts_list_id_id_idx/);
      expect(plan).not.toMatch(/Seq Scan on contacts/);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
