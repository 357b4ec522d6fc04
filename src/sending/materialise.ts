/**
 * Starting a campaign = materialising a run: one `messages` row per contact of the list, rendered now, in
 * keyset pages inserted set-based (INSERT … SELECT FROM unnest, in contact order so ids follow the list and
 * packing sees consecutive identical texts). All in one transaction with the campaign row
 * locked, so a crash leaves either no run or a complete one, and concurrent starts serialise.
 */
import type { PoolClient } from 'pg';
import { countSegments } from '../campaign/segments';
import { holdsControlCharacter, holdsPlaceholder, normaliseVariableName, renderTemplate, withRecipientPhone } from '../campaign/template';

const PAGE = 5000;

export interface CampaignRow {
  id: string;
  status: string;
  type: 'transactional' | 'promotional';
  list_id: string;
  text: string | null;
  template_name: string | null;
  template_vars: string[];
}

interface ContactRow {
  id: string;
  phone: string;
  variables: Record<string, unknown> | null;
}

export interface RenderedMessage {
  status: 'pending' | 'failed';
  text: string | null;
  vars: string[] | null;
  failureReason: string | null;
}

/** The reason of a message whose variable's value holds `{{…}}` or `{#…#}` (the same for every value: reasons are grouped). */
const PLACEHOLDER_IN_VALUE = 'placeholder in variable value';
/** The reason of a message whose variable's value holds a control character (a list imported before the import refused them). */
const CONTROL_IN_VALUE = 'control character in variable value';

const failed = (failureReason: string): RenderedMessage => ({ status: 'failed', text: null, vars: null, failureReason });

/** Pure: the message one contact gets (or why it cannot get one). */
export function renderMessage(campaign: Pick<CampaignRow, 'text' | 'template_name' | 'template_vars'>, variables: Record<string, unknown>): RenderedMessage {
  const strings: Record<string, string> = {};
  for (const [k, v] of Object.entries(variables)) if (v !== null && v !== undefined) strings[k] = String(v);
  if (campaign.template_name) {
    const lookup = new Map(Object.entries(strings).map(([k, v]) => [normaliseVariableName(k), v]));
    const vars = campaign.template_vars.map((name) => lookup.get(normaliseVariableName(name)) ?? '');
    const missing = campaign.template_vars.filter((_n, i) => vars[i] === '');
    if (missing.length) return failed(`missing variable: ${missing.join(', ')}`);
    const holding = campaign.template_vars.filter((_n, i) => holdsPlaceholder(vars[i]!));
    if (holding.length) return failed(`${PLACEHOLDER_IN_VALUE}: ${holding.join(', ')}`);
    const controlled = campaign.template_vars.filter((_n, i) => holdsControlCharacter(vars[i]!));
    if (controlled.length) return failed(`${CONTROL_IN_VALUE}: ${controlled.join(', ')}`);
    return { status: 'pending', text: null, vars, failureReason: null };
  }
  const rendered = renderTemplate(campaign.text ?? '', strings);
  if (!rendered.ok) {
    if ('missing' in rendered) return failed(`missing variable: ${rendered.missing.join(', ')}`);
    if ('placeholderValues' in rendered) return failed(`${PLACEHOLDER_IN_VALUE}: ${rendered.placeholderValues.join(', ')}`);
    return failed(`${CONTROL_IN_VALUE}: ${rendered.controlValues.join(', ')}`);
  }
  if (!rendered.text.trim()) return failed('empty message text');
  return { status: 'pending', text: rendered.text, vars: null, failureReason: null };
}

/**
 * The SMS parts a message is billed as, stored on it (`messages.segments`, shown per message by the API): counted
 * from its text as sent, as the campaign's estimate counts it. A provider template's text lives at 2Factor, so its
 * values are all that can be counted (a lower bound, as the estimate's credits are); a message that could not be
 * rendered is never sent: 0. The column's default of 1 used to stand for every message, a 5-part one included.
 */
export function messageSegments(message: Pick<RenderedMessage, 'text' | 'vars'>): number {
  if (message.text !== null) return countSegments(message.text).segments;
  if (message.vars !== null) return countSegments(message.vars.join('')).segments;
  return 0;
}

/** Inserts the run's messages; returns how many were written. Runs inside the caller's transaction. */
export async function materialiseMessages(client: PoolClient, campaign: CampaignRow, runId: string): Promise<number> {
  let after = '0';
  let total = 0;
  for (;;) {
    const { rows } = await client.query<ContactRow>(
      `SELECT id::text AS id, phone, variables FROM contacts WHERE list_id = $1 AND contacts.id > $2::bigint ORDER BY contacts.id LIMIT ${PAGE}`,
      [campaign.list_id, after],
    );
    if (!rows.length) return total;
    const rendered = rows.map((c) => renderMessage(campaign, withRecipientPhone(c.variables ?? {}, c.phone)));
    // An unpersonalised text is the same for every contact: counted once, not once per contact.
    let last: { text: string | null; segments: number } | null = null;
    const segments = rendered.map((r) => {
      if (r.text !== null && last?.text === r.text) return last.segments;
      const n = messageSegments(r);
      last = { text: r.text, segments: n };
      return n;
    });
    await client.query(
      `INSERT INTO messages (run_id, campaign_id, contact_id, phone, text, vars, segments, status, failure_reason)
       SELECT $1::uuid, $2::uuid, v.contact_id, v.phone, v.text,
              CASE WHEN v.vars IS NULL THEN NULL ELSE ARRAY(SELECT json_array_elements_text(v.vars::json)) END, v.segments,
              (CASE WHEN v.status = 'pending' AND s.phone IS NOT NULL THEN 'suppressed' ELSE v.status END)::"MessageStatus",
              CASE WHEN v.status = 'pending' AND s.phone IS NOT NULL THEN 'suppressed at campaign start' ELSE v.failure_reason END
         FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[])
              WITH ORDINALITY AS v(contact_id, phone, text, vars, status, failure_reason, segments, ord)
         LEFT JOIN suppressions s ON s.phone = v.phone
        ORDER BY v.ord`,
      [
        runId,
        campaign.id,
        rows.map((c) => c.id),
        rows.map((c) => c.phone),
        rendered.map((r) => r.text),
        rendered.map((r) => (r.vars ? JSON.stringify(r.vars) : null)),
        rendered.map((r) => r.status),
        rendered.map((r) => r.failureReason),
        segments,
      ],
    );
    total += rows.length;
    after = rows[rows.length - 1]!.id;
  }
}
