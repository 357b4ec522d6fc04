/**
 * Encoding, segments and credits of a campaign over its list, as the list is now. Streams the list through a
 * cursor (constant memory for a 1M list) and renders each message exactly as it will be sent, because one
 * Hindi name or one long value changes the encoding or the segment count of that message only.
 */
import type { Pool } from 'pg';
import { countSegments, addToStats, emptyStats, isGsm7, type SegmentStats, type Encoding } from './segments';
import { holdsControlCharacter, holdsPlaceholder, normaliseVariableName, parseTemplate, placeholders, withRecipientPhone } from './template';

export type CampaignContent = { kind: 'text'; text: string } | { kind: 'template'; name: string; vars: string[] };

export interface Estimate {
  /** Contacts of the list that are not suppressed. */
  recipients: number;
  /**
   * Contacts whose message cannot be rendered (a `{{column}}` is empty, or its value holds a placeholder): they
   * will fail, no credits counted.
   */
  unrenderable: number;
  /** A few of them (the first the scan met): their CSV line, the `{{column}}` (or `--var`) and why, so they can be found. */
  unrenderableExamples: UnrenderableContact[];
  stats: SegmentStats;
  /** UCS-2 when at least one message needs it (credits are per message, this is the worst case shown). */
  encoding: Encoding;
  credits: number;
  /**
   * The `{{column}}`s (or `--var`s) whose values switched a message to UCS-2 on their own (the text's literal part
   * being GSM-7), as written, in the order of the text: which column's Hindi names or emoji cost the extra credits.
   */
  ucs2Columns: string[];
}

export interface UnrenderableContact {
  /** The contact's line in the imported file. */
  line: number;
  /** The placeholder as written (a `--var` for a provider template). */
  column: string;
  why: 'empty' | 'placeholder' | 'control';
}

/** How many unrenderable contacts the estimate names (the count covers all of them). */
export const UNRENDERABLE_EXAMPLES = 3;

const PAGE = 5000;

type Vars = Record<string, unknown>;

/**
 * The template compiled once: literal parts and normalised variable names, so each contact costs one pass
 * (same result as renderTemplate: a missing or empty value, or one holding a placeholder or a control character, means the message cannot
 * be rendered). For a provider template the template text is unknown here, so only the variable values are counted
 * (a lower bound).
 */
interface Compiled {
  /** The message a contact gets, or the first placeholder that stops it and why. */
  render: (vars: Vars) => string | Omit<UnrenderableContact, 'line'>;
  /** True when the text outside its placeholders is all GSM-7 (a UCS-2 message then owes it to its values). */
  literalIsGsm: boolean;
  /** The placeholders (as written) whose value in `vars` is outside GSM-7; call after render of the same vars. */
  nonGsmColumns: () => string[];
  /** Every placeholder as written, once, in the order of the text. */
  columns: string[];
}

function compile(content: CampaignContent): Compiled {
  type Part = { literal: string } | { name: string; written: string };
  const placeholder = (written: string): Part => ({ name: normaliseVariableName(written), written });
  // A text: its literal parts as sent (escapes resolved) and its placeholders; a provider template: its values in order.
  const parts: Part[] =
    content.kind === 'text'
      ? parseTemplate(content.text).map((p) => (p.kind === 'literal' ? { literal: p.text } : placeholder(p.name)))
      : content.vars.map((v) => placeholder(v.trim()));
  // Raw JSON keys repeat on every row: normalise each distinct key once.
  const keyCache = new Map<string, string>();
  let lookup = new Map<string, unknown>();
  const render = (vars: Vars): string | Omit<UnrenderableContact, 'line'> => {
    lookup = new Map<string, unknown>();
    for (const k in vars) {
      let n = keyCache.get(k);
      if (n === undefined) keyCache.set(k, (n = normaliseVariableName(k)));
      lookup.set(n, vars[k]);
    }
    let out = '';
    for (const p of parts) {
      if ('literal' in p) out += p.literal;
      else {
        const v = lookup.get(p.name);
        if (v === undefined || v === null || v === '') return { column: p.written, why: 'empty' };
        const value = String(v);
        if (holdsPlaceholder(value)) return { column: p.written, why: 'placeholder' };
        if (holdsControlCharacter(value)) return { column: p.written, why: 'control' };
        out += value;
      }
    }
    return out;
  };
  const nonGsmColumns = (): string[] =>
    parts.flatMap((p) => ('name' in p && !isGsm7(String(lookup.get(p.name))) ? [p.written] : []));
  const literalIsGsm = parts.every((p) => !('literal' in p) || isGsm7(p.literal));
  const columns = [...new Set(parts.flatMap((p) => ('name' in p ? [p.written] : [])))];
  return { render, literalIsGsm, nonGsmColumns, columns };
}

const RECIPIENTS_SQL = `
  SELECT count(*)::int AS n FROM contacts c
   WHERE c.list_id = $1 AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.phone = c.phone)`;

/** One pass over the list through a server-side cursor: constant memory, and no per-page rescans. */
const CURSOR_SQL = `
  DECLARE estimate_contacts NO SCROLL CURSOR FOR
  SELECT c.phone, c.variables, c.source_line FROM contacts c
   WHERE c.list_id = $1 AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.phone = c.phone)`;

export async function estimateCampaign(pg: Pool, listId: string, content: CampaignContent): Promise<Estimate> {
  const stats = emptyStats();
  let unrenderable = 0;
  const unrenderableExamples: UnrenderableContact[] = [];
  const personalised = content.kind === 'template' ? content.vars.length > 0 : placeholders(content.text).length > 0;

  if (!personalised) {
    // Every recipient gets the same text: one count, times the recipients.
    const { rows } = await pg.query<{ n: number }>(RECIPIENTS_SQL, [listId]);
    const recipients = rows[0]!.n;
    const same = compile(content).render({});
    const count = countSegments(typeof same === 'string' ? same : '');
    if (recipients > 0) {
      addToStats(stats, count);
      stats.messages = recipients;
      stats.totalSegments = recipients * count.segments;
      if (count.encoding === 'GSM-7') stats.gsm = recipients;
      else stats.ucs2 = recipients;
    }
    return { recipients, unrenderable, unrenderableExamples, stats, encoding: count.encoding, credits: stats.totalSegments, ucs2Columns: [] };
  }

  const { render, literalIsGsm, nonGsmColumns, columns } = compile(content);
  const ucs2Columns = new Set<string>();
  let recipients = 0;
  const client = await pg.connect();
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(CURSOR_SQL, [listId]);
    for (;;) {
      const { rows } = await client.query<{ phone: string; variables: Vars | null; source_line: number }>(`FETCH ${PAGE} FROM estimate_contacts`);
      for (const row of rows) {
        recipients += 1;
        const text = render(withRecipientPhone(row.variables ?? {}, row.phone));
        if (typeof text !== 'string') {
          unrenderable += 1;
          if (unrenderableExamples.length < UNRENDERABLE_EXAMPLES) unrenderableExamples.push({ line: row.source_line, ...text });
          continue;
        }
        const count = countSegments(text);
        addToStats(stats, count);
        if (count.encoding === 'UCS-2' && literalIsGsm) for (const column of nonGsmColumns()) ucs2Columns.add(column);
      }
      if (rows.length < PAGE) break;
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  const encoding: Encoding = stats.ucs2 > 0 ? 'UCS-2' : 'GSM-7';
  return {
    recipients,
    unrenderable,
    unrenderableExamples,
    stats,
    encoding,
    credits: stats.totalSegments,
    ucs2Columns: columns.filter((c) => ucs2Columns.has(c)),
  };
}
