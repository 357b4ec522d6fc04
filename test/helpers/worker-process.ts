/**
 * A worker process for tests and benchmarks: `node -r tsx/cjs test/helpers/worker-process.ts`, configured by
 * the usual environment plus STANDIN_URL (the provider stand-in) and WORKER_OPTS (JSON WorkerOptions).
 * Prints `ready <pid>` on stdout once started; SIGTERM drains gracefully; `stats` lines every second on stdout.
 */
import { loadConfig } from '../../src/config';
import { createContainer } from '../../src/container';
import { installShutdown } from '../../src/lib/shutdown';
import { startWorker, type WorkerOptions } from '../../src/sending/worker';
import { createHttpTestProvider } from './http-provider';

async function main(): Promise<void> {
  const config = loadConfig();
  const container = createContainer({ config, pgPoolSize: 20 });
  const opts = JSON.parse(process.env.WORKER_OPTS ?? '{}') as WorkerOptions;
  const connections = opts.concurrency ?? Math.ceil(config.SMS_RATE_LIMIT * 0.6) + 20;
  const provider = createHttpTestProvider({
    baseUrl: process.env.STANDIN_URL!,
    apiKey: config.TWOFACTOR_API_KEY!,
    timeoutMs: config.SMS_REQUEST_TIMEOUT_MS,
    connections,
  });
  const worker = await startWorker(container, { ...opts, provider });
  const timer = setInterval(() => process.stdout.write(`stats ${JSON.stringify(worker.stats())}\n`), 1000);
  installShutdown(
    async () => {
      clearInterval(timer);
      await worker.close();
      process.stdout.write(`stats ${JSON.stringify(worker.stats())}\n`);
      await provider.close();
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
