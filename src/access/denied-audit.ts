/**
 * `access.denied` audit entries: a refused request (401: no, a wrong or a revoked token, or a delivery-report
 * callback without the right webhook secret; 403: an address outside API_ALLOW_IPS, a role below the route's
 * level, an owner without the OTP grant unmasked data needs; 400: an OTP verification naming a challenge that is not
 * the caller's) left no trace, so a leaked-then-revoked token still in use, a viewer's script poking at write routes,
 * or a stolen token probing for another owner's OTP challenge, went unseen.
 *
 * A flood must not fill the audit table, so entries are rate-limited in memory: at most one per (client address,
 * reason) per window (a minute). Refusals within a window are counted, not written, and the window's entry gets
 * the count as `details.dropped` (updated at most once a window, and when the server closes). The window's entry
 * names the route, method and token of its first refusal only. Past `maxKeys` open windows (many addresses at
 * once), further ones share one window under the reason `many_sources`, so memory and rows stay bounded too.
 */
import type { FastifyRequest } from 'fastify';
import type { PrismaClient } from '../db/prisma';
import { recordAudit, recordOutcome } from './audit';

export type DenialReason =
  | 'ip_not_allowed'
  | 'missing_token'
  | 'invalid_token'
  | 'cross_site'
  | 'not_loopback'
  | 'forbidden'
  | 'otp_required'
  /** The delivery-report webhook's path segment empty, or not WEBHOOK_SECRET (someone guessing it, or a stale URL). */
  | 'missing_webhook_secret'
  | 'invalid_webhook_secret'
  /**
   * An OTP verification naming a challenge that is not the caller's token's (another owner's, or a guessed id): someone
   * probing for a challenge whose SMS reaches another phone. The caller's own wrong codes are `otp.verify.failed`.
   */
  | 'unknown_otp_challenge'
  | 'many_sources';

export interface Denial {
  status: 400 | 401 | 403;
  reason: DenialReason;
  /** The caller's token id, when it is known (a role refusal). */
  tokenId?: string | null;
  /**
   * Finds the token id when it costs a query (a revoked token is looked up by its hash): run only for a refusal
   * that gets an entry, so a flood of bad tokens costs no more queries than it did.
   */
  identify?: () => Promise<string | null>;
}

export interface DeniedAccessRecorder {
  /** Writes the refusal's entry, or counts it in its window's; never throws (a failed write is logged). */
  record(request: FastifyRequest, denial: Denial): Promise<void>;
  /** Writes the counts still unwritten and stops the timer (the server's onClose). */
  close(): Promise<void>;
}

export interface DeniedAuditOptions {
  /** One entry per (address, reason) per this many ms. Default 60 000. */
  windowMs?: number;
  /** Open windows kept at most; further addresses share one. Default 10 000. */
  maxKeys?: number;
  now?: () => number;
}

interface Window {
  started: number;
  status: Denial['status'];
  /** The entry's id, once written (null while its insert runs, or if it failed). */
  auditId: bigint | null;
  dropped: number;
  /** The `dropped` the entry says already. */
  written: number;
}

export function deniedAccessRecorder(deps: { prisma: PrismaClient }, opts: DeniedAuditOptions = {}): DeniedAccessRecorder {
  const windowMs = opts.windowMs ?? 60_000;
  const maxKeys = opts.maxKeys ?? 10_000;
  const now = opts.now ?? Date.now;
  const windows = new Map<string, Window>();

  async function writeDropped(w: Window): Promise<void> {
    if (w.auditId === null || w.dropped === w.written) return;
    const dropped = w.dropped;
    await recordOutcome(deps, w.auditId, w.status, { details: { dropped } });
    w.written = dropped;
  }

  /** Writes what finished windows still owe and forgets them; open ones keep counting. */
  async function sweep(all: boolean): Promise<void> {
    const at = now();
    for (const [key, w] of [...windows]) {
      const over = at - w.started >= windowMs;
      if (!over && !all) continue;
      await writeDropped(w).catch(() => undefined);
      if (over) windows.delete(key);
    }
  }

  /** Frees the places of ended windows whose counts are written, without waiting for the sweep. */
  function forgetSettled(at: number): void {
    for (const [key, w] of windows) if (at - w.started >= windowMs && w.dropped === w.written) windows.delete(key);
  }

  const timer = setInterval(() => void sweep(false), windowMs);
  timer.unref();

  return {
    async record(request, denial) {
      const at = now();
      let reason = denial.reason;
      let key = `${request.ip}\u0000${reason}`;
      if (!windows.has(key) && windows.size >= maxKeys) forgetSettled(at);
      const overflow = !windows.has(key) && windows.size >= maxKeys;
      if (overflow) {
        reason = 'many_sources';
        key = `*\u0000${reason}`;
      }
      const open = windows.get(key);
      if (open && at - open.started < windowMs) {
        open.dropped++;
        return;
      }
      const w: Window = { started: at, status: denial.status, auditId: null, dropped: 0, written: 0 };
      windows.set(key, w);
      try {
        if (open) await writeDropped(open);
        const tokenId = denial.tokenId ?? (await denial.identify?.()) ?? null;
        w.auditId = await recordAudit(deps, {
          tokenId,
          action: 'access.denied',
          // The route pattern, never the raw URL: a path may carry a phone number or a secret.
          target: request.routeOptions.url ?? '(no route)',
          ip: request.ip,
          details: { method: request.method, reason, status: denial.status, dropped: 0, ...(overflow ? { first: denial.reason } : {}) },
        });
        // Counted while the insert ran.
        await writeDropped(w);
      } catch (err) {
        request.log.warn({ err, reason }, 'could not write the access.denied audit entry');
      }
    },
    async close() {
      clearInterval(timer);
      await sweep(true);
    },
  };
}
