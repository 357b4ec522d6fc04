import { closeSync, openSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { ValidationError } from '../../errors';
import { installShutdown } from '../../lib/shutdown';
import { createLogger } from '../../logger';
import { parseLatency } from '../../simulator/options';
import { startSimulator } from '../../simulator/server';
import { PRIVATE_FILE } from '../../lib/private-files';
import { bindHostOption } from '../bind-host-option';
import { withErrors } from '../context';
import { fieldOfOption } from '../input-names';

interface SimulatorCliOptions {
  port: string;
  host: string;
  rate: string;
  rateScope: string;
  latency: string;
  failRate: string;
  hangRate: string;
  faultAfterAccept: string;
  balance?: string;
  invalidKeyFrom?: string;
  dlrDelayMs: string;
  reportRetentionMs: string;
  dlrFailRate: string;
  dltRejectRate: string;
  callbackUrl?: string;
  log?: string;
  otpTtlMs: string;
}

function num(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new ValidationError(`${flag} must be a number, got "${value}"`, fieldOfOption(flag));
  return n;
}

/**
 * `--log`: opened here once, so a path that cannot be written (a missing directory, no permission) is exit 2 naming
 * the option. The log itself ignores write errors (a diagnostic must not crash the simulator), so such a path ran
 * the simulator with no log at all and not a word (whoever counts duplicates from it read nothing).
 */
function appendableLog(file: string | undefined): string | null {
  if (file === undefined) return null;
  try {
    closeSync(openSync(file, 'a', PRIVATE_FILE));
  } catch (err) {
    throw new ValidationError(`--log: cannot append to "${file}" (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'log');
  }
  return file;
}

function rateScope(value: string): 'all' | 'send' {
  if (value !== 'all' && value !== 'send') throw new ValidationError(`--rate-scope must be all or send, got "${value}"`, 'rateScope');
  return value;
}

export function registerSimulator(program: Command): void {
  program
    .command('simulator')
    .description('run the built-in 2Factor look-alike (the one valid key is TWOFACTOR_API_KEY) until SIGINT/SIGTERM')
    .option('--port <n>', 'port (0 = ephemeral)', '4010')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--rate <n>', 'requests per second per key, sliding 1 s window (0 = unlimited)', '200')
    .option('--rate-scope <scope>', "what --rate counts: 'all' API requests or only 'send' requests", 'all')
    .option('--latency <min-max>', 'answer delay in ms, uniform', '100-500')
    .option('--fail-rate <share>', 'share of sends answered with HTTP 502', '0')
    .option('--hang-rate <share>', 'share of sends never answered', '0')
    .option('--fault-after-accept <share>', 'share of those 502s and hangs that strike after the send was accepted (the SMS went out)', '0')
    .option('--balance <credits>', 'credits (one per SMS segment per recipient); unlimited when omitted')
    .option('--invalid-key-from <n>', 'answer "Invalid API Key" from the Nth API request on')
    .option('--dlr-delay-ms <ms>', 'time until delivery reports are final', '3000')
    .option('--report-retention-ms <ms>', 'how long a final delivery report stays readable', '21600000')
    .option('--dlr-fail-rate <share>', 'share of recipients that end FAILED', '0')
    .option('--dlt-reject-rate <share>', 'share of recipients that end DLT-CNT-REJECT', '0')
    .option('--callback-url <url>', 'push final delivery states here (form POST)')
    .option('--log <file.jsonl>', 'append accepted recipients to this JSONL file')
    .option('--otp-ttl-ms <ms>', 'SMS-OTP lifetime', '600000')
    .addHelpText('after', '\nExample:\n  TWOFACTOR_API_KEY=dev-key bulksms simulator --rate 200 --latency 100-500 --dlr-fail-rate 0.02')
    .action(
      withErrors(async (o: SimulatorCliOptions) => {
        const config = loadConfig();
        if (!config.TWOFACTOR_API_KEY) {
          throw new ValidationError('set TWOFACTOR_API_KEY: it is the one key the simulator accepts', 'TWOFACTOR_API_KEY');
        }
        const logger = createLogger({ level: config.LOG_LEVEL, secrets: [config.TWOFACTOR_API_KEY] });
        const rate = num('--rate', o.rate);
        // 0 is the CLI's "unlimited" (null to the simulator): the schema's "> 0" would misstate what --rate takes.
        if (rate < 0) throw new ValidationError(`--rate must be 0 (unlimited) or more, got "${o.rate}"`, 'rate');
        const sim = await startSimulator({
          apiKey: config.TWOFACTOR_API_KEY,
          port: num('--port', o.port),
          host: bindHostOption('--host', o.host),
          rate: rate === 0 ? null : rate,
          rateScope: rateScope(o.rateScope),
          latencyMs: parseLatency(o.latency),
          failRate: num('--fail-rate', o.failRate),
          hangRate: num('--hang-rate', o.hangRate),
          faultAfterAccept: num('--fault-after-accept', o.faultAfterAccept),
          balance: o.balance === undefined ? null : num('--balance', o.balance),
          invalidKeyFromRequest: o.invalidKeyFrom === undefined ? null : num('--invalid-key-from', o.invalidKeyFrom),
          dlrDelayMs: num('--dlr-delay-ms', o.dlrDelayMs),
          reportRetentionMs: num('--report-retention-ms', o.reportRetentionMs),
          dlrFailRate: num('--dlr-fail-rate', o.dlrFailRate),
          dltRejectRate: num('--dlt-reject-rate', o.dltRejectRate),
          callbackUrl: o.callbackUrl ?? null,
          logPath: appendableLog(o.log),
          otpTtlMs: num('--otp-ttl-ms', o.otpTtlMs),
        });
        process.stderr.write(`2Factor simulator listening on ${sim.url} (stats: ${sim.url}/__stats)\n`);
        installShutdown(() => sim.close(), logger, 5_000);
        // Started by another process with an IPC channel (the demo, benchmarks: child-process.ts): leave when it
        // is gone, however it ended (Ctrl-C, SIGKILL), instead of staying behind holding a port and memory.
        if (process.channel) process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
      }),
    );
}
