/**
 * `bulksms demo` (= `npm run demo`): the main job end to end on a fresh machine. Makes sure PostgreSQL and
 * Redis are up, migrates, writes a 10,000-recipient sample CSV (with invalid and duplicate rows), starts the
 * built-in 2Factor simulator (sliding-window limit, 100–500 ms latency, a few failed delivery reports pushed to
 * the real webhook route), runs the campaign at SMS_RATE_LIMIT (200/s) with a live progress bar, waits a few
 * seconds at most for the last delivery reports, and prints a summary.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { createContainer } from '../../container';
import { migrate } from '../../db/migrate';
import { ValidationError } from '../../errors';
import { projectPath } from '../../lib/project-path';
import { writeSampleCsv } from '../../demo/sample-csv';
import { watchWrittenRequests, type WrittenRequests } from '../../provider/written-requests';
import { startSimulatorChild } from '../../simulator/child-process';
import { parseLatency } from '../../simulator/options';
import { withErrors } from '../context';
import { colour } from '../output';
import { runSend } from '../run-send';
import { startDemoWebhook, type DemoWebhook } from '../demo-webhook';
import { parseWaitReports } from './send';
import { printDemoSummary, queryDemoSummary } from '../demo-summary';

const DEMO_KEY = 'demo0000-0000-4000-8000-000000000000';

interface DemoOptions {
  rows: string;
  latency: string;
  waitReports: string;
}

/**
 * The simulated handsets answer quickly, so the last reports are in well within a second of the last send.
 * Just above the slowest simulated answer (500 ms): most reports find their send outcome already committed,
 * which is the cheaper path on a small machine (earlier ones are kept and applied when it lands).
 */
const DEMO_DLR_DELAY_MS = 600;

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('end-to-end demo: sample CSV + built-in simulator + send, with a live progress bar (about a minute)')
    .option('--rows <n>', 'recipients in the sample list', '10000')
    .option('--latency <min-max>', 'simulated provider latency in ms', '100-500')
    .option('--wait-reports <s>', 'after sending, wait up to this many seconds for the last delivery reports', '5')
    .action(
      withErrors(async (opts: DemoOptions) => {
        // Checked before anything starts: bad usage is exit 2 naming the option, not a failure half-way.
        const rows = Number(opts.rows);
        if (!/^\d+$/.test(opts.rows) || rows < 1 || rows > 10_000_000) {
          throw new ValidationError(`--rows must be a whole number from 1 to 10000000 (got "${opts.rows}")`, 'rows');
        }
        const waitReportsMs = parseWaitReports(opts.waitReports);
        const [minLatency, maxLatency] = parseLatency(opts.latency);
        execFileSync(process.execPath, [projectPath('scripts', 'ensure-services.js')], { stdio: 'inherit' });
        const base = loadConfig();
        const apiKey = base.TWOFACTOR_API_KEY ?? DEMO_KEY;
        await migrate(base.DATABASE_URL, undefined, base);
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const file = path.join(os.tmpdir(), `bulksms-demo-${stamp}.csv`);
        const sample = await writeSampleCsv(file, { rows });
        // In its own process, as the provider is: in ours its arrival stamps would wait for the worker's work.
        const simulator = await startSimulatorChild(apiKey);
        // Info logs would drown the progress bar; LOG_LEVEL still wins when set. So does SMS_RATE_GUARD_MS: the demo
        // runs the sender, the import, the webhook taking every delivery report and the progress view in one process
        // (production splits worker and API), and on a slow 2-core machine that one event loop's stalls outgrew the
        // default 12 ms (max 206–207 requests in one second at 200/s, 7–11 × 429, retried). 20 ms costs 0.8 % of rate.
        const webhookSecret = randomBytes(24).toString('hex');
        const config = loadConfig({
          LOG_LEVEL: 'warn',
          SMS_RATE_GUARD_MS: '20',
          ...process.env,
          TWOFACTOR_BASE_URL: simulator.url,
          TWOFACTOR_API_KEY: apiKey,
          WEBHOOK_SECRET: webhookSecret,
        });
        const container = createContainer({ config });
        const say = (line: string) => process.stderr.write(`${line}\n`);
        let webhook: DemoWebhook | null = null;
        let written: WrittenRequests | null = null;
        try {
          await simulator.configure({
            rate: base.SMS_RATE_LIMIT,
            latencyMs: [minLatency, maxLatency],
            dlrDelayMs: DEMO_DLR_DELAY_MS,
            dlrFailRate: 0.02,
          });
          // Delivery reports are pushed to the real webhook route (as in production: `bulksms serve`), so they
          // cost none of the account's request budget; the in-process poller is the backstop.
          webhook = await startDemoWebhook(container);
          await simulator.configure({ callbackUrl: `${webhook.url}/webhooks/dlr/${webhookSecret}` });
          say(colour(1, `bulksms demo: ${rows} recipients (${sample.invalid} invalid, ${sample.duplicates} duplicates) → simulator at ${simulator.url}, ${config.SMS_RATE_LIMIT} req/s, ${opts.latency} ms`, process.stderr));
          say(`sample list: ${file}`);
          // Beside the simulator's count: what this process wrote, which a stall of the simulator cannot bunch.
          written = watchWrittenRequests(simulator.url);
          const result = await runSend(
            container,
            { file, list: `demo-${stamp}`, type: 'transactional', from: 'BLKSMS', text: 'Hi {{name}}, your order {{order id}} from {{city}} has shipped.' },
            { progress: true, waitReportsMs },
          );
          written.stop();
          const summary = await queryDemoSummary(container, result, await simulator.stats(), webhook.stats(), written.maxWindow());
          printDemoSummary(summary);
          return result.status.status === 'completed' ? 0 : 1;
        } finally {
          written?.stop();
          await webhook?.close();
          await container.close();
          await simulator.close();
        }
      }),
    );
}
