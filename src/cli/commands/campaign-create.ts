import type { Command } from 'commander';
import { createCampaign, type CreateCampaignInput } from '../../campaign/campaign-service';
import { formatWallClock } from '../../campaign/schedule-input';
import { ValidationError } from '../../errors';
import { auditCliAction } from '../audit-cli';
import { withContainer } from '../context';
import { printResult } from '../output';
import { campaignGroup } from './campaign-group';

interface CreateOptions {
  name: string;
  list: string;
  type: string;
  from: string;
  text?: string;
  template?: string;
  var: string[];
  peid?: string;
  ctid?: string;
  at?: string;
  cron?: string;
  tz?: string;
  pack?: string;
  regulated?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function parsePack(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new ValidationError(`--pack: "${value}" must be a whole number`, 'packSize');
  return Number(value);
}

export function registerCampaignCreate(program: Command): void {
  campaignGroup(program)
    .command('create')
    .description('create a campaign (draft, or scheduled with --at/--cron) and report encoding, segments and credits')
    .requiredOption('--name <name>', 'campaign name')
    .requiredOption('--list <name|id>', 'a ready contact list')
    .requiredOption('--type <type>', 'transactional | promotional')
    .requiredOption('--from <SENDER>', 'DLT header: 6 letters (transactional) or 6 digits (promotional)')
    .option('--text <body>', 'message text matching a DLT template; {{column}} is filled from the list (\\{{ for a literal {{)')
    .option('--template <name>', '2Factor template name (instead of --text)')
    .option('--var <column>', 'list column for the next template variable (repeatable, in order)', collect, [])
    .option('--peid <id>', 'DLT principal entity id')
    .option('--ctid <id>', 'DLT content template id')
    .option('--at <ISO-8601>', 'run once at this instant (no zone = --tz)')
    .option('--cron <expr>', 'run repeatedly (5 fields, or 6 with seconds), each firing a new run to the list as it is then')
    .option('--tz <zone>', 'time zone of --at/--cron', 'Asia/Kolkata')
    .option('--pack <n>', 'recipients per request when the text is identical')
    .option('--regulated', 'keep its messages RETENTION_REGULATED_DAYS (banking: 7 years) before `bulksms archive` deletes them, not RETENTION_DAYS')
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      '\nExamples:\n  bulksms campaign create --name diwali --list customers --type transactional --from TFCTOR \\\n' +
        '    --text "Hi {{name}}, your order {{order_id}} has shipped" --at 2026-12-01T10:00\n' +
        '  bulksms campaign create --name weekly --list leads --type promotional --from 123456 \\\n' +
        '    --template WEEKLY_OFFER --var name --var offer --cron "0 11 * * 1"',
    )
    .action(
      withContainer(async (container, opts: CreateOptions) => {
        const input: CreateCampaignInput = {
          name: opts.name,
          list: opts.list,
          type: opts.type as CreateCampaignInput['type'],
          from: opts.from,
          text: opts.text,
          template: opts.template,
          vars: opts.var,
          peid: opts.peid,
          ctid: opts.ctid,
          at: opts.at,
          cron: opts.cron,
          tz: opts.tz,
          packSize: parsePack(opts.pack),
          regulated: opts.regulated === true,
        };
        const result = await createCampaign(container, input);
        await auditCliAction(container, 'campaign.create', result.campaignId, { name: input.name, type: input.type });
        printResult(opts, result, () =>
          [
            `campaign ${result.campaignId} (${result.status})`,
            `recipients ${result.recipients}, ${result.encoding}, segments ${result.segmentsMin}-${result.segmentsMax} per message, ${input.template !== undefined ? 'at least ' : ''}${result.credits} credits`,
            result.scheduleAt ? `runs at ${formatWallClock(new Date(result.scheduleAt), opts.tz)} (${result.scheduleAt})` : null,
            result.cron ? `runs on cron "${result.cron}"` : null,
            ...result.warnings.map((w) => `warning: ${w}`),
          ]
            .filter(Boolean)
            .join('\n'),
        );
      }),
    );
}
