/**
 * Encoding, segments and credits of a campaign over its list, as the list is now. Streams the list in keyset
 * pages (constant memory for a 1M list) and renders each message exactly as it will be sent, because one
 * Hindi name or one long value changes the encoding or the segment count of that message only.
 */
import type { Pool } from 'pg';
import { countSegments, addToStats, emptyStats, type SegmentStats, type Encoding } from './segments';
import { placeholders, renderTemplate } from './template';

export type CampaignContent = { kind: 'text'; text: string } | { kind: 'template'; name: string; vars: string[] };

export interface Estimate {
  /** Contacts of the list that are not suppressed. */
  recipients: number;
  /** Contacts whose message cannot be rendered (a `{{column}}` is empty): they will fail, no credits counted. */
  unrenderable: number;
  stats: SegmentStats;
  /** UCS-2 when at least one message needs it (credits are per message, this is the worst case shown). */
  encoding: Encoding;
  credits: number;
}

const PAGE = 5000;

type Vars = Record<string, unknown>;

function asStrings(vars: Vars): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) out[k] = v === null || v === undefined ? '' : String(v);
  return out;
}

/** The text whose segments we count for one contact; null when it cannot be rendered. */
function messageText(content: CampaignContent, vars: Record<string, string>): string | null {
  if (content.kind === 'text') {
    const r = renderTemplate(content.text, vars);
    return r.ok ? r.text : null;
  }
  // The provider-side template text is unknown here: count the variable values only (a lower bound).
  const r = renderTemplate(content.vars.map((v) => `{{${v}}}`).join(''), vars);
  return r.ok ? r.text : null;
}

const RECIPIENTS_SQL = `
  SELECT count(*)::int AS n FROM contacts c
   WHERE c.list_id = $1 AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.phone = c.phone)`;

const PAGE_SQL = `
  SELECT c.id::text AS id, c.variables FROM contacts c
   WHERE c.list_id = $1 AND c.id > $2::bigint
     AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.phone = c.phone)
   ORDER BY c.id LIMIT $3`;

export async function estimateCampaign(pg: Pool, listId: string, content: CampaignContent): Promise<Estimate> {
  const stats = emptyStats();
  let unrenderable = 0;
  const personalised = content.kind === 'template' ? content.vars.length > 0 : placeholders(content.text).length > 0;

  if (!personalised) {
    // Every recipient gets the same text: one count, times the recipients.
    const { rows } = await pg.query<{ n: number }>(RECIPIENTS_SQL, [listId]);
    const recipients = rows[0]!.n;
    const count = countSegments(messageText(content, {}) ?? '');
    if (recipients > 0) {
      addToStats(stats, count);
      stats.messages = recipients;
      stats.totalSegments = recipients * count.segments;
      if (count.encoding === 'GSM-7') stats.gsm = recipients;
      else stats.ucs2 = recipients;
    }
    return { recipients, unrenderable, stats, encoding: count.encoding, credits: stats.totalSegments };
  }

  let after = '0';
  let recipients = 0;
  for (;;) {
    const { rows } = await pg.query<{ id: string; variables: Vars | null }>(PAGE_SQL, [listId, after, PAGE]);
    for (const row of rows) {
      recipients += 1;
      const text = messageText(content, asStrings(row.variables ?? {}));
      if (text === null) unrenderable += 1;
      else addToStats(stats, countSegments(text));
    }
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1]!.id;
  }
  const encoding: Encoding = stats.ucs2 > 0 ? 'UCS-2' : 'GSM-7';
  return { recipients, unrenderable, stats, encoding, credits: stats.totalSegments };
}
