/** Test data for the sending engine, written straight to PostgreSQL (the campaign service is another team's). */
import type { Pool } from 'pg';
import { CLAIM_TOKEN_SQL } from '../../src/sending/ledger';

export function phoneFor(i: number): string {
  return `+9198${String(i).padStart(8, '0')}`;
}

let nextBase = 0;

export interface SeedOptions {
  recipients: number;
  text?: string;
  /** Per-contact variables; default {name: `N<i>`}. */
  variables?: (i: number) => Record<string, string>;
  packSize?: number;
  type?: 'transactional' | 'promotional';
  templateName?: string;
  templateVars?: string[];
}

export async function seedCampaign(pg: Pool, opts: SeedOptions): Promise<{ campaignId: string; listId: string; phones: string[] }> {
  const list = await pg.query<{ id: string }>(
    `INSERT INTO contact_lists (name, status, columns) VALUES ($1, 'ready', ARRAY['phone','name']) RETURNING id`,
    [`list-${Math.random().toString(36).slice(2)}`],
  );
  const listId = list.rows[0]!.id;
  // Each seeded campaign gets its own numbers, so provider-side counters can be checked per campaign.
  const base = nextBase;
  nextBase += Math.max(100_000, opts.recipients);
  const phones = Array.from({ length: opts.recipients }, (_v, i) => phoneFor(base + i));
  const vars = phones.map((_p, i) => JSON.stringify(opts.variables ? opts.variables(i) : { name: `N${i}` }));
  await pg.query(
    `INSERT INTO contacts (list_id, phone, raw_phone, variables, source_line)
     SELECT $1, p, p, v::jsonb, n::int + 1 FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS x(p, v, n)`,
    [listId, phones, vars],
  );
  const campaign = await pg.query<{ id: string }>(
    `INSERT INTO campaigns (name, list_id, type, sender, text, template_name, template_vars, pack_size)
     VALUES ('test', $1, $2, 'BLKSMS', $3, $4, $5, $6) RETURNING id`,
    [listId, opts.type ?? 'transactional', opts.templateName ? null : (opts.text ?? 'Hello {{name}}'), opts.templateName ?? null, opts.templateVars ?? [], opts.packSize ?? 1],
  );
  return { campaignId: campaign.rows[0]!.id, listId, phones };
}

export async function statusCounts(pg: Pool, campaignId: string): Promise<Record<string, number>> {
  const { rows } = await pg.query<{ status: string; n: number }>(
    `SELECT status::text AS status, count(*)::int AS n FROM messages WHERE campaign_id = $1 GROUP BY status`,
    [campaignId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function campaignStatus(pg: Pool, campaignId: string): Promise<string> {
  const { rows } = await pg.query<{ status: string }>(`SELECT status::text AS status FROM campaigns WHERE id = $1`, [campaignId]);
  return rows[0]!.status;
}

/** Per campaign, from the provider's point of view: numbers accepted more than once, and numbers never accepted. */
export function deliveryCheck(accepted: Map<string, number>, phones: readonly string[]): { duplicates: string[]; missing: string[] } {
  return {
    duplicates: phones.filter((p) => (accepted.get(p) ?? 0) > 1),
    missing: phones.filter((p) => !accepted.has(p)),
  };
}

/** The claim token of a `sending` message (what its outcome row must carry), as the claim statement returns it. */
export async function claimTokenOf(pg: Pool, id: string): Promise<string> {
  const { rows } = await pg.query<{ token: string | null }>(`SELECT ${CLAIM_TOKEN_SQL('m')}::text AS token FROM messages m WHERE m.id = $1`, [id]);
  if (!rows[0]?.token) throw new Error(`message ${id} has no claim (sending_at is null)`);
  return rows[0].token;
}
