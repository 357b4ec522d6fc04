import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { migrate } from '../../db/migrate';
import { printResult } from '../output';
import { withErrors } from '../context';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('create the database if it is missing and apply pending migrations (no Prisma engine download needed)')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExample:\n  DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bulksms bulksms migrate')
    .action(
      withErrors(async (opts: { json?: boolean }) => {
        const config = loadConfig();
        const result = await migrate(config.DATABASE_URL, undefined, config);
        printResult(opts, result, () =>
          [
            result.createdDatabase ? 'created database' : null,
            result.applied.length ? `applied: ${result.applied.join(', ')}` : 'database schema is up to date',
          ]
            .filter(Boolean)
            .join('\n'),
        );
      }),
    );
}
