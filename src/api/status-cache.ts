/**
 * Short-lived memo of getCampaignStatus for the API. The dashboard polls every campaign on the page every
 * 2 s from every open browser, and each status call recounts the campaign's messages: with the memo a
 * campaign is recounted at most once per `activeTtlMs` while it can change (running, or `sent` messages
 * still awaiting delivery reports), and once per `settledTtlMs` when it is finished. Lifecycle actions
 * invalidate their campaign so the next read is fresh; so does a change of the campaign row's `version` (its
 * updated_at), which every status change elsewhere bumps: a draft or finished campaign started or retried by the
 * CLI, the scheduler or another `serve` was shown as it had been for up to `settledTtlMs`, its counts disagreeing
 * with `bulksms campaign status`.
 */
import type { CampaignStatusResult } from './deps';

const ACTIVE = new Set(['running', 'paused', 'scheduled']);
const MAX_ENTRIES = 2000;

/** Counts can still change: the campaign runs, or accepted messages still await their delivery report. */
function isMoving(s: CampaignStatusResult): boolean {
  return ACTIVE.has(s.status) || (s.counts.sent ?? 0) > 0;
}

export interface StatusCache {
  /** `version`: the campaign row's updated_at (ms); a memo of another version is not used. */
  get(campaignId: string, load: () => Promise<CampaignStatusResult>, version?: number): Promise<CampaignStatusResult>;
  invalidate(campaignId: string): void;
}

export function createStatusCache(opts: { activeTtlMs?: number; settledTtlMs?: number; now?: () => number } = {}): StatusCache {
  const activeTtl = opts.activeTtlMs ?? 1_000;
  const settledTtl = opts.settledTtlMs ?? 15_000;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, { at: number; version: number | undefined; value: Promise<CampaignStatusResult> }>();

  return {
    async get(campaignId, load, version) {
      const hit = entries.get(campaignId);
      if (hit && hit.version === version) {
        const value = await hit.value.catch(() => undefined);
        const ttl = value && isMoving(value) ? activeTtl : settledTtl;
        if (value && now() - hit.at < ttl) return value;
      }
      if (entries.size >= MAX_ENTRIES) entries.clear();
      // Concurrent readers share one in-flight load; a failed load is not kept.
      const value = load();
      entries.set(campaignId, { at: now(), version, value });
      value.catch(() => entries.delete(campaignId));
      return value;
    },
    invalidate: (campaignId) => void entries.delete(campaignId),
  };
}
