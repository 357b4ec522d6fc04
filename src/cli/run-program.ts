import { CommanderError, type Command } from 'commander';

/** Parses and runs; commander's usage errors become exit code 2 (its --help/--version exits stay 0). */
export async function runProgram(program: Command, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; everything else commander rejects is bad usage.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    throw err;
  }
}
