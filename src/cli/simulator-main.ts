/**
 * `bulksms simulator` without the rest of the CLI. The simulator is the clock of every rate-window measurement
 * and its full-GC pauses show up as requests bunched into one second; loading every command (the S3 SDK,
 * fastify, Prisma, …) and their source maps tripled its heap (snapshot: ~18 MB of inline source maps alone) for
 * code it never runs. bin/bulksms.js routes `simulator` here; `bulksms --help` still lists it (main.ts).
 */
import { Command } from 'commander';
import { registerSimulator } from './commands/simulator';
import { runProgram } from './run-program';
import { exitQuietlyWhenOutputCloses } from './stdout-pipe';

export async function main(argv: string[]): Promise<void> {
  exitQuietlyWhenOutputCloses();
  const program = new Command().name('bulksms').exitOverride().showHelpAfterError('(run with --help for usage)');
  registerSimulator(program);
  await runProgram(program, argv);
}
