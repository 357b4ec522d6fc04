/**
 * The audit log: who (token), what (action), on what (target), from where (ip), when. Written for every
 * access to unmasked data and every campaign action; never holds phone numbers in clear or secrets.
 */
import type { PrismaClient } from '../db/prisma';
import type { Prisma } from '../generated/prisma/client';

export interface AuditEntry {
  tokenId: string | null;
  /** Dotted action name, e.g. `campaign.start`, `message.export.unmasked`, `otp.verify`. */
  action: string;
  target?: string | null;
  ip?: string | null;
  details?: Prisma.InputJsonObject;
}

/** Writes one entry; resolves to its id (for recordOutcome). */
export async function recordAudit(deps: { prisma: PrismaClient }, entry: AuditEntry): Promise<bigint> {
  const row = await deps.prisma.auditLog.create({
    data: {
      tokenId: entry.tokenId,
      action: entry.action,
      target: entry.target ?? null,
      ip: entry.ip ?? null,
      details: entry.details ?? undefined,
    },
    select: { id: true },
  });
  return row.id;
}

/** What only the action itself learns, for its entry: the resource it created, details such as a masked number. */
export interface AuditNote {
  target?: string;
  details?: Prisma.InputJsonObject;
}

/**
 * Adds the HTTP status an audited request was answered with to its entry (`details.status`): the entry is written
 * before the action runs, so that nothing unaudited happens, and without the outcome a refused start (409) read
 * like one that happened. A create names what it made here (the entry, written before, could not): without it a
 * `campaign.create` did not say which campaign.
 */
export async function recordOutcome(deps: { prisma: PrismaClient }, id: bigint, status: number, note: AuditNote = {}): Promise<void> {
  const details = JSON.stringify(note.details ?? {});
  await deps.prisma.$executeRaw`
    UPDATE audit_log SET target = COALESCE(${note.target ?? null}::text, target),
           details = COALESCE(details, '{}'::jsonb) || ${details}::jsonb || jsonb_build_object('status', ${status}::int)
     WHERE id = ${id}`;
}

export interface AuditQuery {
  tokenId?: string;
  action?: string;
  since?: Date;
  /** Only entries older than this one (its id): the next page after an entry. */
  beforeId?: bigint;
  limit?: number;
}

/** The most entries one page holds: `bulksms audit --cursor` reads the rest. */
export const MAX_AUDIT_PAGE = 1000;

/** Newest first; `more` when older entries matching the filters are left (read them with `beforeId` = the last id). */
export async function listAudit(deps: { prisma: PrismaClient }, q: AuditQuery = {}) {
  const take = Math.min(q.limit ?? 100, MAX_AUDIT_PAGE);
  const rows = await deps.prisma.auditLog.findMany({
    where: { tokenId: q.tokenId, action: q.action, at: q.since ? { gte: q.since } : undefined, id: q.beforeId !== undefined ? { lt: q.beforeId } : undefined },
    orderBy: { id: 'desc' },
    take: take + 1,
  });
  return { rows: rows.slice(0, take), more: rows.length > take };
}
