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

export async function recordAudit(deps: { prisma: PrismaClient }, entry: AuditEntry): Promise<void> {
  await deps.prisma.auditLog.create({
    data: {
      tokenId: entry.tokenId,
      action: entry.action,
      target: entry.target ?? null,
      ip: entry.ip ?? null,
      details: entry.details ?? undefined,
    },
  });
}

export interface AuditQuery {
  tokenId?: string;
  action?: string;
  since?: Date;
  limit?: number;
}

export async function listAudit(deps: { prisma: PrismaClient }, q: AuditQuery = {}) {
  return deps.prisma.auditLog.findMany({
    where: { tokenId: q.tokenId, action: q.action, at: q.since ? { gte: q.since } : undefined },
    orderBy: { id: 'desc' },
    take: Math.min(q.limit ?? 100, 1000),
  });
}
