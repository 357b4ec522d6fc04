/**
 * A worker process for tests and benchmarks: `node -r tsx/cjs test/helpers/worker-process.ts`, configured by
 * the usual environment (TWOFACTOR_BASE_URL points at the simulator) plus WORKER_OPTS (JSON WorkerOptions).
 * Prints `ready <pid>` on stdout once started and a `stats` line every second; SIGTERM drains gracefully.
 */
import { loadConfig } from '../../src/config';
import { createContainer } from '../../src/container';
import { installShutdown } from '../../src/lib/shutdown';
import { startWorker, type WorkerOptions } from '../../src/sending/worker';

async function main(): Promise<void> {
  const config = loadConfig();
  const container = createContainer({ config, pgPoolSize: 20 });
  const opts = JSON.parse(process.env.WORKER_OPTS ?? '{}') as WorkerOptions;
  const worker = await startWorker(container, opts);
  const timer = setInterval(() => process.stdout.write(`stats ${JSON.stringify(worker.stats())}\n`), 1000);
  installShutdown(
    async () => {
      clearInterval(timer);
      await worker.close();
      process.stdout.write(`stats ${JSON.stringify(worker.stats())}\n`);
      await container.close();
    },
    container.logger,
    20_000,
  );
  process.stdout.write(`ready ${process.pid}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`worker-process failed: ${String(err)}\n`);
  process.exit(1);
});
