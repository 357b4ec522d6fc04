/**
 * `bulksms suppression check|remove`: look a number up on the global suppression list, or take numbers off it
 * (`bulksms suppress` adds them). A group of its own, like `token`, so `bulksms suppress <file>` keeps its meaning.
 */
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { ValidationError } from '../../errors';
import {
  findSuppression,
  removalAuditDetails,
  removeSuppression,
  removeSuppressionFile,
  requireRemovalReason,
} from '../../suppression/lookup-remove';
import { maskDigitRuns } from '../../access/policy';
import { auditCliAction } from '../audit-cli';
import { withContainer } from '../context';
import { printable } from '../listing';
import { printResult } from '../output';
import { requireFile } from './import';

interface CheckCliOptions {
  phone: string;
  country: string;
  json?: boolean;
}

interface RemoveCliOptions {
  phone?: string;
  reason?: string;
  phoneColumn?: string;
  country: string;
  json?: boolean;
}

export function registerSuppression(program: Command): void {
  const group = program
    .command('suppression')
    .description('look a number up on the global suppression list, or take numbers off it (bulksms suppress adds them)');
  group
    .command('check')
    .description('whether a number is suppressed, since when, why and from where')
    .requiredOption('--phone <number>', 'the number, as imports read it (+91 98765 43210, 098765 43210, …)')
    .option('--country <code>', 'default country for numbers without +prefix', 'IN')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExample:\n  bulksms suppression check --phone "98765 43210" --json')
    .action(
      withContainer(async (c, opts: CheckCliOptions) => {
        const status = await findSuppression(c, opts.phone, { country: opts.country });
        const entry = status.entry;
        const result = { phone: status.phone, suppressed: status.suppressed, reason: entry?.reason ?? null, source: entry?.source ?? null, since: entry?.since ?? null };
        printResult(opts, result, () =>
          entry
            ? // The reason and source are any text a file, the API or an operator gave: a newline or an ANSI escape in them is blanked.
              `${status.phone} is suppressed since ${entry.since.toISOString()} (${printable(entry.source)}${entry.reason ? `: ${printable(entry.reason)}` : ''})`
            : `${status.phone} is not suppressed`,
        );
      }),
    );
  group
    .command('remove [file]')
    .description('take one --phone or every number of a CSV file off the suppression list; --reason is required (audited)')
    .option('--phone <number>', 'one number to take off the list')
    .option('--reason <text>', 'why it may receive messages again (required; kept in the audit log)')
    .option('--phone-column <col>', 'phone column of the file; auto-detected if absent')
    .option('--country <code>', 'default country for numbers without +prefix', 'IN')
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      [
        '',
        'Messages already marked suppressed (in running campaigns) stay so; the next import and the next run use the new list.',
        '',
        'Examples:',
        '  bulksms suppression remove --phone "+91 98765 43210" --reason "re-subscribed by SMS on 2026-01-04"',
        '  bulksms suppression remove dnd.csv --reason "imported as DND by mistake"',
      ].join('\n'),
    )
    .action(
      withContainer(async (c, file: string | undefined, opts: RemoveCliOptions) => {
        if ((file === undefined) === (opts.phone === undefined)) {
          throw new ValidationError('give either a file or --phone <number> (not both)', 'phone');
        }
        const reason = requireRemovalReason(opts.reason);
        if (opts.phone !== undefined) {
          const r = await removeSuppression(c, opts.phone, { reason, country: opts.country });
          await auditCliAction(c, 'suppression.remove', null, removalAuditDetails(r, reason));
          printResult(opts, { phone: r.phone, removed: r.removed }, () => (r.removed ? `removed ${r.phone} from the suppression list` : `${r.phone} was not suppressed`));
          return;
        }
        requireFile(file!);
        const r = await removeSuppressionFile(c, createReadStream(file!), {
          fileName: file!,
          reason,
          phoneColumn: opts.phoneColumn,
          country: opts.country,
        });
        await auditCliAction(c, 'suppression.remove', file!, { reason: maskDigitRuns(reason), removed: r.removed, rows: r.rows, rejected: r.rejected });
        printResult(opts, r, () =>
          [
            `removed ${r.removed} of ${r.rows} numbers (${r.rows - r.rejected - r.removed} were not suppressed, ${r.rejected} invalid)`,
            ...r.rejects.map((x) => `  line ${x.line}: ${x.reason}`),
          ].join('\n'),
        );
      }),
    );
}
