/**
 * Each worker's view of the campaigns it sends for: settings (sender, module, template, packing) and the
 * current status. Pause/resume/cancel reach every worker within ~250 ms through pub/sub, with a PostgreSQL poll
 * as the fallback (pub/sub messages are lost on reconnects; PostgreSQL is the source of truth). The claim
 * statement re-checks the status in SQL, so this cache only decides about messages already claimed.
 */
import type { Pool } from 'pg';
import type { Redis } from '../db/redis';
import type { SmsModule } from '../provider/sms-provider';

export interface CampaignSettings {
  id: string;
  status: string;
  module: SmsModule;
  sender: string;
  templateName: string | null;
  peid: string | null;
  ctid: string | null;
  packSize: number;
}

interface Row {
  id: string;
  status: string;
  type: string;
  sender: string;
  template_name: string | null;
  dlt_peid: string | null;
  dlt_ctid: string | null;
  pack_size: number;
}

export interface CampaignStates {
  get(id: string): Promise<CampaignSettings | null>;
  /** Last known status, synchronously (undefined when never loaded). */
  status(id: string): string | undefined;
  /** Applies a status change seen locally (e.g. this worker just paused the campaign). */
  set(id: string, status: string): void;
  /** Called for every status change announced on the control channel (any campaign, cached or not). */
  onAnnounce(listener: (campaignId: string, status: string) => void): void;
  close(): Promise<void>;
}

export async function loadCampaignSettings(pg: Pool, ids: readonly string[]): Promise<CampaignSettings[]> {
  const { rows } = await pg.query<Row>(
    `SELECT id, status::text AS status, type::text AS type, sender, template_name, dlt_peid, dlt_ctid, pack_size
       FROM campaigns WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  return rows.map((r) => ({
    id: r.id,
    status: r.status,
    module: r.type === 'promotional' ? 'PROMO_SMS' : 'TRANS_SMS',
    sender: r.sender,
    templateName: r.template_name,
    peid: r.dlt_peid,
    ctid: r.dlt_ctid,
    packSize: Math.max(1, r.pack_size),
  }));
}

/** How long a status set by this worker outlasts PostgreSQL still showing the old one (see `overrides`). */
const OVERRIDE_MS = 5_000;

export async function createCampaignStates(
  pg: Pool,
  subscriber: Redis | null,
  channel: string,
  pollMs = 250,
): Promise<CampaignStates> {
  const cache = new Map<string, CampaignSettings>();
  const loading = new Map<string, Promise<CampaignSettings | null>>();
  const listeners: ((campaignId: string, status: string) => void)[] = [];
  /**
   * Statuses this worker set itself (the engine pausing a campaign) that PostgreSQL does not show yet: the pause
   * commits a moment later, and a poll reading the old `running` meanwhile undid it locally, letting a few more
   * requests out. Held until a poll shows the status, an announcement says otherwise, or OVERRIDE_MS passes (the
   * pause failed: PostgreSQL's status stands).
   */
  const overrides = new Map<string, { status: string; until: number }>();

  const refresh = async (): Promise<void> => {
    if (!cache.size) return;
    for (const s of await loadCampaignSettings(pg, [...cache.keys()])) {
      const own = overrides.get(s.id);
      if (own && s.status !== own.status && performance.now() < own.until) {
        cache.set(s.id, { ...s, status: own.status });
        continue;
      }
      overrides.delete(s.id);
      cache.set(s.id, s);
    }
  };
  const timer = setInterval(() => void refresh().catch(() => undefined), pollMs);
  timer.unref();

  if (subscriber) {
    subscriber.on('message', (_ch: string, message: string) => {
      try {
        const { campaignId, status } = JSON.parse(message) as { campaignId: string; status: string };
        overrides.delete(campaignId);
        const known = cache.get(campaignId);
        if (known) cache.set(campaignId, { ...known, status });
        for (const listener of listeners) listener(campaignId, status);
      } catch {
        // ignore foreign messages on the channel
      }
    });
    await subscriber.subscribe(channel);
  }

  return {
    async get(id) {
      const hit = cache.get(id);
      if (hit) return hit;
      let p = loading.get(id);
      if (!p) {
        // Settled either way: a failed load (PostgreSQL blip) kept in `loading` failed every later job of the
        // campaign on this worker for good.
        p = loadCampaignSettings(pg, [id]).finally(() => loading.delete(id)).then((rows) => {
          if (rows[0]) cache.set(id, rows[0]);
          return rows[0] ?? null;
        });
        loading.set(id, p);
      }
      return p;
    },
    status: (id) => cache.get(id)?.status,
    onAnnounce: (listener) => void listeners.push(listener),
    set(id, status) {
      const known = cache.get(id);
      if (known) cache.set(id, { ...known, status });
      overrides.set(id, { status, until: performance.now() + OVERRIDE_MS });
    },
    async close() {
      clearInterval(timer);
      if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
