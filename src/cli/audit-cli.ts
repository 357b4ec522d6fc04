/**
 * Actions taken from the command line (campaigns, tokens, imports, suppressions, archive, restore) are audited like API
 * ones (issue 9): there is no token, so the entry names the operating-system user and host instead.
 */
import os from 'node:os';
import type { Prisma } from '../generated/prisma/client';
import { recordAudit } from '../access/audit';
import type { Container } from '../container';

/** Who runs this command, for an audit entry's details: `{via: 'cli', user, host}`. */
export function cliActor(): { via: 'cli'; user: string; host: string } {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return { via: 'cli', user, host: os.hostname() };
}

export async function auditCliAction(c: Pick<Container, 'prisma'>, action: string, target: string | null, details: Prisma.InputJsonObject = {}): Promise<void> {
  await recordAudit(c, { tokenId: null, action, target, ip: null, details: { ...cliActor(), ...details } });
}
