import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { ValidationError } from '../../errors';
import { addSuppressions, importSuppressions, maskedSuppression } from '../../suppression/suppression';
import { auditCliAction } from '../audit-cli';
import { withContainer } from '../context';
import { printResult } from '../output';
import { requireFile } from './import';

interface SuppressCliOptions {
  phone?: string;
  reason?: string;
  phoneColumn?: string;
  country: string;
  json?: boolean;
}

export function registerSuppress(program: Command): void {
  program
    .command('suppress [file]')
    .description('add numbers to the global suppression list (opt-outs, DND): a CSV file or one --phone')
    .option('--phone <number>', 'one number to suppress')
    .option('--reason <text>', 'why (stored with each number)')
    .option('--phone-column <col>', 'phone column of the file; auto-detected if absent')
    .option('--country <code>', 'default country for numbers without +prefix', 'IN')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExamples:\n  bulksms suppress dnd.csv --reason DND\n  bulksms suppress --phone "+91 98765 43210" --reason "replied STOP"')
    .action(
      withContainer(async (c, file: string | undefined, opts: SuppressCliOptions) => {
        if ((file === undefined) === (opts.phone === undefined)) {
          throw new ValidationError('give either a file or --phone <number> (not both)', 'phone');
        }
        if (opts.phone !== undefined) {
          const r = await addSuppressions(c, [{ phone: opts.phone, reason: opts.reason, source: 'cli' }], { country: opts.country });
          // As POST /api/suppressions is: which number stopped receiving, masked (the audit log holds none in clear).
          await auditCliAction(c, 'suppression.add', null, { phone: maskedSuppression(opts.phone, opts.country), added: r.added });
          printResult(opts, r, () => (r.added ? 'added 1 number' : 'already suppressed'));
          return;
        }
        requireFile(file!);
        const r = await importSuppressions(c, createReadStream(file!), {
          fileName: file!,
          reason: opts.reason,
          phoneColumn: opts.phoneColumn,
          country: opts.country,
        });
        await auditCliAction(c, 'suppression.add', file!, { added: r.added, rows: r.rows, rejected: r.rejected });
        printResult(opts, r, () =>
          [
            `added ${r.added} of ${r.rows} numbers (${r.rows - r.rejected - r.added} already suppressed, ${r.rejected} invalid)`,
            ...r.rejects.map((x) => `  line ${x.line}: ${x.reason}`),
          ].join('\n'),
        );
      }),
    );
}
