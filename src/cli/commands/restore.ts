import type { Command } from 'commander';
import { restoreArchive } from '../../archive/restore';
import { cliActor } from '../audit-cli';
import { withContainer } from '../context';
import { printResult } from '../output';

export function registerRestore(program: Command): void {
  program
    .command('restore <manifest>')
    .description('load archived runs back into the database (verifies every file first; safe to repeat)')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExamples:\n  bulksms restore archive/manifest.json\n  bulksms restore s3://archive/bulksms/manifest.json --json')
    .action(
      withContainer(async (c, manifest: string, opts: { json?: boolean }) => {
        const result = await restoreArchive(c, manifest, { actor: cliActor() });
        printResult(opts, result, () => `restored ${result.runs} run(s), ${result.rows} message(s) (${result.inserted} inserted)`);
      }),
    );
}
