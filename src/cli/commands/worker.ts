/** `bulksms worker [--concurrency n]`: send workers + feeder + recovery until SIGTERM/SIGINT (graceful drain). */
import type { Command } from 'commander';
import { installShutdown } from '../../lib/shutdown';
import { startWorker } from '../../sending/worker';
import { withContainer } from '../context';
import { parseConcurrency } from './campaign-control';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run send workers, the feeder, crash recovery, the campaign scheduler, the TRAI window and delivery-report polling until SIGTERM (in-flight requests finish and are recorded)')
    .option('--concurrency <n>', 'max requests in flight in this process (default: rate × 0.6 s + 20)')
    .addHelpText('after', '\nExample:\n  SMS_RATE_LIMIT=200 TWOFACTOR_API_KEY=... bulksms worker --concurrency 150')
    .action(
      withContainer(async (c, opts: { concurrency?: string }) => {
        const worker = await startWorker(c, { concurrency: parseConcurrency(opts.concurrency), campaignServices: {} });
        await new Promise<void>((resolve) => {
          installShutdown(
            async () => {
              await worker.close();
              await c.close();
              resolve();
            },
            c.logger,
            30_000,
          );
        });
      }),
    );
}
