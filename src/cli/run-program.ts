import { CommanderError, type Command } from 'commander';
import { writeJsonObject } from './output';

/**
 * Parses and runs; commander's usage errors become exit code 2 (its --help/--version exits stay 0). With `--json`
 * a usage error is also the one JSON object on stdout that the contract promises (commander writes its own line
 * to stderr), so a script reading stdout sees why instead of nothing.
 */
export async function runProgram(program: Command, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; everything else commander rejects is bad usage.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      if (err.exitCode !== 0 && argv.includes('--json')) {
        writeJsonObject({ error: { code: 'usage', message: err.message.replace(/^error: /, '') } });
      }
      return;
    }
    throw err;
  }
}
