/**
 * `bulksms demo` (= `npm run demo`): the main job end to end on a fresh machine. Makes sure PostgreSQL and
 * Redis are up, migrates, writes a 10,000-recipient sample CSV (with invalid and duplicate rows), starts the
 * built-in 2Factor simulator (sliding-window limit, 100–500 ms latency, a few failed delivery reports), runs
 * the campaign at SMS_RATE_LIMIT (200/s) with a live progress bar, and prints a summary.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { createContainer } from '../../container';
import { migrate } from '../../db/migrate';
import { writeSampleCsv } from '../../demo/sample-csv';
import { startSimulator } from '../../simulator/server';
import { withErrors } from '../context';
import { colour } from '../output';
import { runSend } from '../run-send';
import { printDemoSummary, queryDemoSummary } from '../demo-summary';

const DEMO_KEY = 'demo0000-0000-4000-8000-000000000000';

interface DemoOptions {
  rows: string;
  latency: string;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('end-to-end demo: sample CSV + built-in simulator + send, with a live progress bar (under a minute)')
    .option('--rows <n>', 'recipients in the sample list', '10000')
    .option('--latency <min-max>', 'simulated provider latency in ms', '100-500')
    .action(
      withErrors(async (opts: DemoOptions) => {
        const rows = Number(opts.rows);
        const [minLatency, maxLatency] = opts.latency.split('-').map(Number);
        execFileSync(process.execPath, [path.join(__dirname, '..', '..', '..', 'scripts', 'ensure-services.js')], { stdio: 'inherit' });
        const base = loadConfig();
        const apiKey = base.TWOFACTOR_API_KEY ?? DEMO_KEY;
        await migrate(base.DATABASE_URL);
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const file = path.join(os.tmpdir(), `bulksms-demo-${stamp}.csv`);
        const sample = await writeSampleCsv(file, { rows });
        const simulator = await startSimulator({
          apiKey,
          rate: base.SMS_RATE_LIMIT,
          latencyMs: [minLatency ?? 100, maxLatency ?? 500],
          dlrDelayMs: 1000,
          dlrFailRate: 0.02,
        });
        // Info logs would drown the progress bar; LOG_LEVEL still wins when set.
        const config = loadConfig({ LOG_LEVEL: 'warn', ...process.env, TWOFACTOR_BASE_URL: simulator.url, TWOFACTOR_API_KEY: apiKey });
        const container = createContainer({ config });
        const say = (line: string) => process.stderr.write(`${line}\n`);
        try {
          say(colour(1, `bulksms demo: ${rows} recipients (${sample.invalid} invalid, ${sample.duplicates} duplicates) → simulator at ${simulator.url}, ${config.SMS_RATE_LIMIT} req/s, ${opts.latency} ms`, process.stderr));
          say(`sample list: ${file}`);
          const result = await runSend(
            container,
            { file, list: `demo-${stamp}`, type: 'transactional', from: 'BLKSMS', text: 'Hi {{name}}, your order {{order id}} from {{city}} has shipped.' },
            { progress: true },
          );
          const summary = await queryDemoSummary(container, result, simulator.stats());
          printDemoSummary(summary);
          return result.status.status === 'completed' ? 0 : 1;
        } finally {
          await container.close();
          await simulator.close();
        }
      }),
    );
}
