/**
 * Batched, pipelined contact writes inside the import's transaction. Each batch is one
 * `COPY contacts … FROM STDIN` (PostgreSQL's cheapest way in: no statement parameters, no per-row plan).
 * While PostgreSQL loads batch N the importer parses batch N+1 (at most one batch in flight), so parsing
 * and writing overlap on the two cores.
 *
 * Rows go in in line order, so contact ids follow line order. Nothing is looked up per row: numbers the
 * Bloom filter (seen-phones.ts) has maybe seen before are noted for the end-of-import duplicate pass
 * (duplicates.ts), which keeps each number's first line. Suppressed numbers are filtered out before the
 * load with one indexed lookup per batch, skipped while the suppression list is empty. Whether it is empty is read
 * again with every batch written (one cheap query, in the write that overlaps parsing): read once at the start, a
 * number suppressed while a long import ran was loaded and counted accepted for the rest of the file. A number
 * suppressed after its batch was checked is loaded; sending checks suppressions again.
 */
import type { PoolClient } from 'pg';
import { copyText, encodeField } from '../db/copy-text';
import { COPY_CANDIDATES_SQL, createDuplicateTables, removeDuplicates } from './duplicates';
import type { RejectEntry } from './reject-report';
import type { ReportSpool } from './report-spool';
import { SeenPhones } from './seen-phones';

export interface ContactRow {
  phone: string;
  raw: string;
  /** JSON object of the per-recipient variables, already in COPY text form (see row-mapper). */
  variablesCopy: string;
  line: number;
  /** The record's source text, for the report if the row loses. */
  rawRow: string;
}

export interface WriteCounts {
  accepted: number;
  duplicates: number;
  suppressed: number;
}

const COPY_CONTACTS_SQL = 'COPY contacts (list_id, phone, raw_phone, variables, source_line) FROM STDIN';

const SUPPRESSED_SQL = `SELECT phone, reason FROM suppressions WHERE phone = ANY($1::text[])`;
const ANY_SUPPRESSIONS_SQL = 'SELECT EXISTS (SELECT 1 FROM suppressions) AS any';

/**
 * Bytes of one COPY batch. Rows are encoded as they arrive, so the row objects die young: holding a batch
 * of parsed rows until its flush made V8 promote them all to the old generation (GC was a third of the
 * importer's CPU).
 */
class CopyBuffer {
  private buf = Buffer.allocUnsafe(1 << 20);
  private len = 0;

  append(text: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    if (this.len + text.length * 3 > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + text.length * 3));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    this.len += this.buf.write(text, this.len);
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

class Batch {
  /** Set when the batch starts: its rows wait for the suppression check (there are suppressions to check). */
  constructor(readonly checked: boolean) {}
  /** Rows waiting for the suppression check (only in a checked batch). */
  unchecked: ContactRow[] = [];
  rows = 0;
  contacts = new CopyBuffer();
  candidates = '';
  maybeDuplicates: ContactRow[] = [];
  /** Rows rejected while parsing this batch's lines, so the report stays in line order. */
  rejects: RejectEntry[] = [];
}

export class ContactWriter {
  readonly counts: WriteCounts = { accepted: 0, duplicates: 0, suppressed: 0 };
  private batch: Batch;
  private inFlight: Promise<void> | null = null;
  private loaded = 0;
  private anyCandidates = false;
  private readonly listField: string;

  /** Creates the writer's temporary tables on `client`, which must be inside the import's open transaction. */
  static async open(
    client: PoolClient,
    listId: string,
    phoneColumn: string,
    spool: ReportSpool,
    checkSuppressions: boolean,
    batchSize?: number,
    seen?: SeenPhones,
  ): Promise<ContactWriter> {
    await createDuplicateTables(client);
    return new ContactWriter(client, listId, phoneColumn, spool, checkSuppressions, batchSize, seen);
  }

  private constructor(
    private readonly client: PoolClient,
    private readonly listId: string,
    private readonly phoneColumn: string,
    private readonly spool: ReportSpool,
    /** False while the suppression list is empty (saves the lookup); read again as each batch is written. */
    private suppressionsExist: boolean,
    private readonly batchSize = 5000,
    /** Numbers written so far (approximately); one per import. */
    private readonly seen = new SeenPhones(),
  ) {
    this.listField = encodeField(listId);
    this.batch = new Batch(suppressionsExist);
  }

  get full(): boolean {
    const b = this.batch;
    return b.rows + b.unchecked.length >= this.batchSize || b.rejects.length >= this.batchSize;
  }

  add(row: ContactRow): void {
    if (this.batch.checked) this.batch.unchecked.push(row);
    else this.encode(this.batch, row);
  }

  reject(entry: RejectEntry): void {
    this.batch.rejects.push(entry);
  }

  /** Sends the current batch once the previous one is done (keeps one batch in flight). */
  async flush(): Promise<void> {
    const batch = this.batch;
    if (this.inFlight) await this.inFlight;
    // After the write in flight, which read whether there are suppressions now (nothing is added meanwhile: the
    // caller awaits this).
    this.batch = new Batch(this.suppressionsExist);
    const p = this.write(batch);
    // Handled later by the next flush()/finish(); the no-op catch stops an "unhandled rejection" meanwhile.
    p.catch(() => undefined);
    this.inFlight = p;
  }

  /** Writes what is left, then removes later occurrences of repeated numbers; the counts are final. */
  async finish(): Promise<WriteCounts> {
    await this.flush();
    await this.inFlight;
    const duplicates = this.anyCandidates ? await removeDuplicates(this.client, this.listId) : 0;
    this.counts.duplicates = duplicates;
    this.counts.accepted = this.loaded - duplicates;
    return this.counts;
  }

  /** Waits for the in-flight batch without surfacing its error (used before ROLLBACK). */
  async settle(): Promise<void> {
    await this.inFlight?.catch(() => undefined);
  }

  private async write(batch: Batch): Promise<void> {
    if (batch.unchecked.length) await this.checkAndEncode(batch);
    if (batch.rows) {
      await copyText(this.client, COPY_CONTACTS_SQL, batch.contacts.bytes());
      this.loaded += batch.rows;
    }
    if (batch.candidates) {
      await copyText(this.client, COPY_CANDIDATES_SQL, batch.candidates);
      this.anyCandidates = true;
    }
    await this.spool.write(batch.rejects, batch.maybeDuplicates);
    // For the next batch to start: read last, so it is as recent as can be. Once there are suppressions every batch
    // is checked (a list emptied since only costs the lookup).
    if (!this.suppressionsExist) {
      const { rows } = await this.client.query<{ any: boolean }>(ANY_SUPPRESSIONS_SQL);
      this.suppressionsExist = rows[0]!.any;
    }
  }

  /** Drops (and reports) the batch's suppressed numbers, then encodes the rest. */
  private async checkAndEncode(batch: Batch): Promise<void> {
    const { rows: hits } = await this.client.query<{ phone: string; reason: string | null }>(SUPPRESSED_SQL, [
      batch.unchecked.map((r) => r.phone),
    ]);
    const why = new Map(hits.map((h) => [h.phone, h.reason]));
    for (const r of batch.unchecked) {
      if (!why.has(r.phone)) this.encode(batch, r);
      else {
        this.counts.suppressed++;
        const reason = why.get(r.phone);
        batch.rejects.push({ line: r.line, raw: r.rawRow, column: this.phoneColumn, reason: `suppressed${reason ? ` (${reason})` : ''}: ${r.phone}` });
      }
    }
    batch.unchecked = [];
  }

  /**
   * Appends a row to the batch's COPY text (rows arrive in line order, so ids follow line order) and notes
   * it if the filter may have seen its number before (repeats within the batch included).
   */
  private encode(batch: Batch, r: ContactRow): void {
    // E.164 numbers and line numbers never need COPY escaping; the raw spelling may.
    batch.contacts.append(`${this.listField}\t${r.phone}\t${encodeField(r.raw)}\t${r.variablesCopy}\t${r.line}\n`);
    batch.rows++;
    if (this.seen.testAndAdd(r.phone)) {
      batch.candidates += `${r.phone}\n`;
      batch.maybeDuplicates.push(r);
    }
  }
}
