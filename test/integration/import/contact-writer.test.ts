/**
 * ContactWriter's two kinds of row: those its Bloom filter calls "certainly new" are only loaded, the rest
 * are also noted for the end-of-import duplicate pass. A filter far too small (every row "maybe seen") and
 * the real one must store exactly the same contacts and report exactly the same duplicates.
 */
import { ContactWriter, type ContactRow } from '../../../src/import/contact-writer';
import { createDuplicateTables, duplicateVerdicts, FIND_DUPLICATES_SQL, removeDuplicates, withHashJoinsOnly } from '../../../src/import/duplicates';
import { beginListTransaction, createImportingList } from '../../../src/import/list-store';
import { RejectReport } from '../../../src/import/reject-report';
import { ReportSpool, writeReport } from '../../../src/import/report-spool';
import { SeenPhones } from '../../../src/import/seen-phones';
import { manyContacts, seedList } from '../../fixtures/seed-list';
import { addSuppressions } from '../../../src/suppression/suppression';
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
  it('stores and reports the same whether the filter calls rows new or maybe seen', async () => {
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

  it('settles duplicates in one hash pass over the list although the statistics do not know its rows', async () => {
    // The real case: the list's rows are the import's own, uncommitted, so no statistics know them; with
    // those numbers the planner once chose a nested loop probing every candidate for every row.
    const pg = env.container().pg;
    await pg.query('DELETE FROM contact_lists');
    await seedList(pg, 'earlier', [], manyContacts(5_000));
    await pg.query('VACUUM ANALYZE contacts'); // the statistics know 5,000 rows and none of the new list's
    const listId = await createImportingList(pg, { name: 'big', sourceFile: 'x.csv', country: 'IN' });
    const client = await pg.connect();
    try {
      await beginListTransaction(client, listId);
      await createDuplicateTables(client);
      // 30,000 rows; every 100th line repeats the number of the line 50 before it.
      await client.query(
        `INSERT INTO contacts (list_id, phone, raw_phone, source_line)
         SELECT $1, '+9190' || lpad((CASE WHEN i % 100 = 0 THEN i - 50 ELSE i END)::text, 8, '0'), 'x', i FROM generate_series(1, 30000) i`,
        [listId],
      );
      await client.query(`INSERT INTO pg_temp.import_candidates SELECT '+9190' || lpad((i - 50)::text, 8, '0') FROM generate_series(100, 30000, 100) i`);
      await client.query('ANALYZE pg_temp.import_candidates');
      const { rows } = await withHashJoinsOnly(client, () => client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${FIND_DUPLICATES_SQL}`, [listId]));
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Hash (Semi )?Join/);
      expect(plan).not.toMatch(/Nested Loop|Seq Scan on contacts/);
      expect(await removeDuplicates(client, listId, 70)).toBe(300);
      const left = await client.query<{ n: number; distinct: number }>('SELECT count(*)::int AS n, count(DISTINCT phone)::int AS distinct FROM contacts WHERE list_id = $1', [listId]);
      expect(left.rows[0]).toEqual({ n: 29_700, distinct: 29_700 });
      const verdicts = [];
      for await (const page of duplicateVerdicts(client, 1000)) verdicts.push(...page);
      expect(verdicts.slice(0, 2)).toEqual([{ line: 100, kept: 50, phone: '+919000000050' }, { line: 200, kept: 150, phone: '+919000000150' }]);
      // The planner is itself again afterwards.
      expect((await client.query<{ enable_nestloop: string }>('SHOW enable_nestloop')).rows[0]!.enable_nestloop).toBe('on');
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });

  it('filters a number suppressed while the import runs from the batches that start after it', async () => {
    // The suppression list was read once, at the start: empty then, it was never checked again, and a number
    // suppressed during a long import was loaded and counted accepted.
    const pg = env.container().pg;
    const listId = await createImportingList(pg, { name: 'suppressed-meanwhile', sourceFile: 'x.csv', country: 'IN' });
    const report = new RejectReport(env.config.REPORTS_DIR, 'writer-suppressed-meanwhile');
    const spool = new ReportSpool(env.config.REPORTS_DIR, 'writer-suppressed-meanwhile');
    const client = await pg.connect();
    const late = '+919876100990';
    try {
      await beginListTransaction(client, listId);
      const writer = await ContactWriter.open(client, listId, 'phone', spool, false, 100);
      for (let line = 2; line < 1002; line++) {
        // 300 lines in (three batches of 100 written or in flight), the number of line 990 is suppressed.
        if (line === 302) await addSuppressions(env.container(), [{ phone: late, reason: 'STOP' }]);
        const phone = `+9198761${String(line).padStart(5, '0')}`;
        writer.add({ phone, raw: phone, variablesCopy: '{}', line, rawRow: `P${line},${phone}` });
        if (writer.full) await writer.flush();
      }
      const counts = await writer.finish();
      await writeReport(spool, duplicateVerdicts(client, 7), report, 'phone');
      await spool.discard();
      await client.query('COMMIT');
      expect(counts).toEqual({ accepted: 999, duplicates: 0, suppressed: 1 });
      const stored = await pg.query('SELECT 1 FROM contacts WHERE list_id = $1 AND phone = $2', [listId, late]);
      expect(stored.rowCount).toBe(0);
      expect(reportLines(await report.close())).toEqual(['source_line,raw_row,column,reason', `990,"P990,${late}",phone,suppressed (STOP): ${late}`]);
    } finally {
      client.release();
      await pg.query('DELETE FROM suppressions WHERE phone = $1', [late]);
    }
  });
});
