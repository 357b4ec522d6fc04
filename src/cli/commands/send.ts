import type { Command } from 'commander';
import type { CampaignType } from '../../campaign/validation';
import { ValidationError } from '../../errors';
import { withContainer } from '../context';
import { finishWorkWhenOutputCloses } from '../stdout-pipe';
import { printResult, type OutputOptions } from '../output';
import { DEFAULT_WAIT_REPORTS_MS, runSend } from '../run-send';
import { contractStatus, humanStatus } from './campaign-control';

interface SendOptions extends OutputOptions {
  type: string;
  from: string;
  text?: string;
  template?: string;
  var: string[];
  list?: string;
  name?: string;
  country?: string;
  phoneColumn?: string;
  peid?: string;
  ctid?: string;
  pack?: string;
  force?: boolean;
  waitReports: string;
}

/** `--wait-reports <s>`: seconds (decimals allowed), 0 to 3600. */
export function parseWaitReports(raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 3600) {
    throw new ValidationError(`--wait-reports must be a number of seconds between 0 and 3600 (got "${raw}")`, 'waitReports');
  }
  return Math.round(n * 1000);
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerSend(program: Command): void {
  program
    .command('send <file.csv>')
    .description('one shot: import the CSV, create and start a campaign, send with in-process workers until it ends')
    .requiredOption('--type <type>', 'transactional | promotional')
    .requiredOption('--from <SENDER>', 'DLT header: 6 letters (transactional) or 6 digits (promotional)')
    .option('--text <body>', 'message text matching a DLT template; {{column}} is filled from the CSV (\\{{ for a literal {{)')
    .option('--template <name>', '2Factor template name (instead of --text)')
    .option('--var <column>', 'CSV column for the next template variable (repeatable, in order)', collect, [])
    .option('--list <name>', 'name of the list to create (default: file name + time)')
    .option('--name <name>', 'campaign name (default: the list name)')
    .option('--country <CC>', 'default country for numbers without a prefix', 'IN')
    .option('--phone-column <column>', 'phone column header or 1-based number (default: detected)')
    .option('--peid <id>', 'DLT principal entity id')
    .option('--ctid <id>', 'DLT content template id')
    .option('--pack <n>', 'recipients per request when the text is identical')
    .option('--force', 'start even if the provider balance looks too low')
    .option('--wait-reports <s>', 'after sending, wait up to this many seconds for delivery reports (0 = do not wait)', String(DEFAULT_WAIT_REPORTS_MS / 1000))
    .option('--json', 'print one JSON object (the final campaign status)')
    .addHelpText(
      'after',
      '\nExample:\n  bulksms send customers.csv --type transactional --from ACMEIN \\\n' +
        '    --text "Hi {{name}}, your order {{order_id}} has shipped"\n\n' +
        'Exit code 0 when the campaign completed; 1 when it paused (the reason is printed), failed (nothing went out)\n' +
          'or was cancelled, or a service failed; 2 for bad input.',
    )
    .action(
      withContainer(async (container, file: string, opts: SendOptions) => {
        // A reader that closes the display pipe (`bulksms send … 2>&1 | head`) does not cut the campaign: ended at the
        // next progress line, the run left its requests in flight to become `unknown` and the campaign running with
        // nobody sending it. The output goes silent, the run ends as it would have (Ctrl-C still pauses it), then 141.
        finishWorkWhenOutputCloses();
        const waitReportsMs = parseWaitReports(opts.waitReports);
        if (opts.pack !== undefined && !/^\d+$/.test(opts.pack)) throw new ValidationError(`--pack: "${opts.pack}" must be a whole number`, 'packSize');
        const result = await runSend(
          container,
          {
            file,
            type: opts.type as CampaignType,
            from: opts.from,
            text: opts.text,
            template: opts.template,
            vars: opts.var,
            list: opts.list,
            name: opts.name,
            country: opts.country,
            phoneColumn: opts.phoneColumn,
            peid: opts.peid,
            ctid: opts.ctid,
            packSize: opts.pack === undefined ? undefined : Number(opts.pack),
            force: opts.force,
          },
          {
            progress: !opts.json,
            waitReportsMs,
            // What `campaign create` warns of (recipients who will fail, UCS-2, many segments), before anything is sent:
            // on stderr, so --json stays one object on stdout.
            onCreated: (campaign) => {
              for (const w of campaign.warnings) process.stderr.write(`warning: ${w}\n`);
            },
          },
        );
        const s = result.status;
        printResult(
          opts,
          { ...contractStatus(s), listId: result.imported.listId, import: result.imported, elapsedMs: result.elapsedMs, reports: result.reports },
          () =>
            [
              `imported ${result.imported.accepted}/${result.imported.rows} rows into list ${result.imported.listId}` +
                (result.imported.rejectReport ? ` (rejects: ${result.imported.rejectReport})` : ''),
              humanStatus(s),
              `  delivery reports: ${s.counts.delivered} delivered, ${result.reports.awaiting} still awaited after waiting ${(result.reports.waitedMs / 1000).toFixed(1)} s`,
            ].join('\n'),
        );
        return s.status === 'completed' ? 0 : 1;
      }),
    );
}
