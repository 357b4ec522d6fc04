/**
 * `bulksms` command line (commander). Each command lives in ./commands and registers itself here.
 * Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input; 141 when a reader closed stdout or stderr
 * early (`| head -1`: ended as SIGPIPE ends a Unix tool; `send` and `worker` first finish or stop cleanly, stdout-pipe.ts).
 */
import { Command } from 'commander';
import { runProgram } from './run-program';
import { installCrashReporter } from './output';
import { exitQuietlyWhenOutputCloses } from './stdout-pipe';
import { registerMigrate } from './commands/migrate';
import { registerServe } from './commands/serve';
import { registerImport } from './commands/import';
import { registerSuppress } from './commands/suppress';
import { registerSuppression } from './commands/suppression';
import { registerCampaignCreate } from './commands/campaign-create';
import { registerToken } from './commands/token';
import { registerArchive } from './commands/archive';
import { registerRestore } from './commands/restore';
import { registerAudit } from './commands/audit';
import { registerSimulator } from './commands/simulator';
import { registerSend } from './commands/send';
import { registerDemo } from './commands/demo';
import { registerCampaignControl } from './commands/campaign-control';
import { registerCampaignList } from './commands/campaign-list';
import { registerList } from './commands/list';
import { registerWorker } from './commands/worker';
import { registerListDelete } from './commands/list-delete';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('bulksms')
    .description('Bulk-SMS campaign processor for 2Factor: import contact CSVs, run paced campaigns, track every message')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerMigrate(program);
  registerServe(program);
  registerImport(program);
  registerSuppress(program);
  registerSuppression(program);
  registerCampaignCreate(program);
  registerList(program);
  registerToken(program);
  registerArchive(program);
  registerRestore(program);
  registerAudit(program);
  registerSimulator(program);
  registerSend(program);
  registerDemo(program);
  registerCampaignControl(program);
  registerCampaignList(program);
  registerWorker(program);
  registerListDelete(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  installCrashReporter();
  exitQuietlyWhenOutputCloses();
  await runProgram(buildProgram(), argv);
}
