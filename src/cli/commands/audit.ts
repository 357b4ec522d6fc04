import type { Command } from 'commander';
import { MAX_AUDIT_PAGE, listAudit } from '../../access/audit';
import { ValidationError } from '../../errors';
import { withContainer } from '../context';
import { nextPageHint, parseLimit, printable } from '../listing';
import { printResult } from '../output';

interface AuditCliOptions {
  action?: string;
  token?: string;
  since?: string;
  limit?: string;
  cursor?: string;
  json?: boolean;
}

/**
 * What an access.denied entry adds to its line: the method, why and the status, and how many more refusals like it
 * (same address, same reason) its minute saw without an entry of their own.
 */
/**
 * An ISO-8601 date or date-time (`2026-11-01`, `2026-11-01T09:30`, `…:00Z`, `…+05:30`): what --since says it takes.
 * `new Date()` also read "Nov 1 2026" and "1/11/2026" (which is January, not the 1st of November) without a word.
 * A date-time without an offset is this machine's local time, as `new Date()` reads it.
 */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function isoInstant(raw: string): Date {
  const at = ISO_INSTANT.test(raw) ? new Date(raw) : null;
  if (!at || Number.isNaN(at.getTime())) {
    throw new ValidationError(`--since: "${raw}" is not an ISO-8601 date or instant (e.g. 2026-11-01 or 2026-11-01T09:30:00+05:30)`, 'since');
  }
  return at;
}

function refusalOf(action: string, details: unknown): string {
  if (action !== 'access.denied' || typeof details !== 'object' || details === null) return '';
  const d = details as { method?: unknown; reason?: unknown; status?: unknown; dropped?: unknown };
  const dropped = typeof d.dropped === 'number' && d.dropped > 0 ? ` (+${d.dropped} more not written)` : '';
  return ` ${String(d.method ?? '?')} ${String(d.reason ?? '?')} ${String(d.status ?? '?')}${dropped}`;
}

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('show the audit log (who did what, when, from where), newest first')
    .option('--action <name>', 'only this action, e.g. campaign.start, message.export.unmasked or access.denied')
    .option('--token <id>', 'only this token')
    .option('--since <ISO-8601>', 'only entries at or after this instant')
    .option('--limit <n>', `at most n entries (1-${MAX_AUDIT_PAGE})`, '100')
    .option('--cursor <id>', 'the next page: the `nextCursor` of the previous one (with the same filters)')
    .option('--json', 'print one JSON object: {entries, nextCursor}')
    .action(
      withContainer(async (c, opts: AuditCliOptions) => {
        const limit = parseLimit(opts.limit) ?? 100;
        if (limit < 1) throw new ValidationError(`--limit: "${opts.limit}" is not a positive integer`, 'limit');
        // Cut to 1000 without a word, the entries past it were out of reach: there is a next page instead.
        if (limit > MAX_AUDIT_PAGE) throw new ValidationError(`--limit: ${limit} is more than ${MAX_AUDIT_PAGE} entries; page with --cursor`, 'limit');
        if (opts.cursor !== undefined && !/^[1-9]\d{0,18}$/.test(opts.cursor)) {
          throw new ValidationError(`--cursor: "${opts.cursor}" is not an audit entry id (the nextCursor of a previous page)`, 'cursor');
        }
        const since = opts.since === undefined ? undefined : isoInstant(opts.since);
        if (opts.token && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(opts.token)) {
          throw new ValidationError(`--token: "${opts.token}" is not a token id (UUID)`, 'token');
        }
        const page = await listAudit(c, {
          action: opts.action, tokenId: opts.token, since, limit, ...(opts.cursor !== undefined ? { beforeId: BigInt(opts.cursor) } : {}),
        });
        const entries = page.rows.map((r) => ({ id: r.id.toString(), at: r.at, tokenId: r.tokenId, action: r.action, target: r.target, ip: r.ip, details: r.details }));
        const nextCursor = page.more ? entries[entries.length - 1]!.id : null;
        printResult(opts, { entries, nextCursor }, () =>
          [
            ...(entries.length
              ? entries.map((e) => `${e.at.toISOString()}  ${e.action.padEnd(24)} ${e.target === null ? '-' : printable(e.target)}  token=${e.tokenId ?? '-'} ip=${e.ip ?? '-'}${refusalOf(e.action, e.details)}`)
              : [opts.cursor ? 'no more audit entries' : 'no audit entries']),
            ...nextPageHint('bulksms audit', nextCursor, [
              opts.action && `--action ${opts.action}`,
              opts.token && `--token ${opts.token}`,
              opts.since && `--since ${opts.since}`,
              `--limit ${limit}`,
            ]),
          ].join('\n'),
        );
      }),
    );
}
