/**
 * `bulksms list ls|show`: the contact lists, as `GET /api/lists` shows them and from the same code
 * (src/import/list-index.ts). A group named like the `--list <name|id>` option of `import` and `campaign create`,
 * beside `campaign` and `token`; its listing verb is `ls` (`list list` stutters), with `list` kept as an alias so
 * `<group> list` works in every group.
 */
import type { Command } from 'commander';
import { listGroup } from './list-group';
import { maskDigitRuns } from '../../access/policy';
import { RECIPIENT_PHONE } from '../../campaign/template';
import { NotFoundError } from '../../errors';
import { LIST_PAGE, didYouMeanList, findContactList, listContactLists, type ContactListView } from '../../import/list-index';
import { withContainer } from '../context';
import { formatTable, istOrDash, nextPageHint, parseLimit, printable } from '../listing';
import { printResult } from '../output';

/**
 * A list as the CLI prints it: its row report as the path `import --json` names `rejectReport` (the CLI runs where
 * the file is). A failure reason may quote the file's first row (a file without a header: a recipient's name and
 * number): masked as for an API caller without an OTP grant, so phones are never printed.
 */
export function cliList({ rejectReportPath, ...list }: ContactListView) {
  return { ...list, failureReason: list.failureReason === null ? null : maskDigitRuns(list.failureReason), rejectReport: rejectReportPath };
}
type CliList = ReturnType<typeof cliList>;

function listTable(lists: readonly CliList[]): string {
  const count = (header: string, value: (l: CliList) => number) => ({ header, value: (l: CliList) => String(value(l)), align: 'right' as const });
  return formatTable(lists, [
    { header: 'ID', value: (l) => l.id },
    { header: 'NAME', value: (l) => l.name, max: 24 },
    { header: 'STATUS', value: (l) => l.status },
    count('ROWS', (l) => l.rows),
    count('ACCEPTED', (l) => l.accepted),
    count('REJECTED', (l) => l.rejected),
    count('DUPLICATES', (l) => l.duplicates),
    count('SUPPRESSED', (l) => l.suppressed),
    { header: 'CREATED', value: (l) => istOrDash(l.createdAt) },
  ]);
}

/**
 * The row report's line when there is no report: "none" only when every row was imported; a deleted list's report went
 * with it, and "none" beside "rejected 4" read as if the report had never had anything in it.
 */
function rowsNotImported(l: CliList): string {
  const leftOut = l.rejected + l.duplicates + l.suppressed > 0;
  return leftOut && (l.status === 'deleted' || l.status === 'deleting') ? 'report deleted with the list' : 'none';
}

/** What a person reads of one list: `list show`. */
function listDetail(l: CliList): string {
  const variables = l.columns.map((c) => `{{${c}}}`);
  // {{phone}} is the recipient's own number unless the list has a variable column of that name (template.ts).
  if (!l.columns.includes(RECIPIENT_PHONE)) variables.push(`{{${RECIPIENT_PHONE}}} (the recipient's number)`);
  return [
    `list ${l.id}: ${printable(l.name)} (${l.status})`,
    ...(l.failureReason ? [`  why: ${printable(l.failureReason)}`] : []),
    `  rows ${l.rows}: accepted ${l.accepted}, rejected ${l.rejected}, duplicates ${l.duplicates}, suppressed ${l.suppressed}`,
    `  file ${l.sourceFile === null ? '-' : printable(l.sourceFile)}, phone column ${l.phoneColumn === null ? '-' : `"${printable(l.phoneColumn)}"`}, country ${l.country}`,
    ...(l.status === 'ready' ? [`  variables: ${variables.map(printable).join(', ')}`] : []),
    `  rejected rows: ${l.rejectReport ?? rowsNotImported(l)}`,
    `  created ${istOrDash(l.createdAt)}, ${l.status === 'importing' ? 'still importing' : `finished ${istOrDash(l.completedAt)}`}`,
  ].join('\n');
}

export function registerList(program: Command): void {
  const group = listGroup(program);
  group
    .command('ls')
    .alias('list')
    .description('contact lists, newest first: status and row counts (as GET /api/lists)')
    .option('--limit <n>', `at most n lists (${LIST_PAGE.min}-${LIST_PAGE.max}, default ${LIST_PAGE.default})`)
    .option('--cursor <cursor>', 'the next page: the `nextCursor` of the previous one')
    .option('--json', 'print one JSON object: {lists, nextCursor}')
    .action(
      withContainer(async (c, opts: { limit?: string; cursor?: string; json?: boolean }) => {
        const page = await listContactLists(c, { limit: parseLimit(opts.limit), cursor: opts.cursor });
        const lists = page.items.map(cliList);
        printResult(opts, { lists, nextCursor: page.nextCursor }, () =>
          [
            lists.length ? listTable(lists) : opts.cursor ? 'no more lists' : 'no lists (`bulksms import <file.csv> --list <name>` makes one)',
            ...nextPageHint('bulksms list ls', page.nextCursor, [opts.limit && `--limit ${opts.limit}`]),
          ].join('\n'),
        );
      }),
    );
  group
    .command('show <name|id>')
    .description('one list: status (and why it failed), row counts, the variables its columns give ({{column}}), its row report')
    .option('--json', 'print one JSON object (the list)')
    .action(
      withContainer(async (c, ref: string, opts: { json?: boolean }) => {
        const found = await findContactList(c, ref);
        if (!found) {
          const hint = await didYouMeanList(c, ref, ' (`bulksms list ls` shows them)');
          throw new NotFoundError(`no contact list named or with id "${ref}"${hint}`);
        }
        const list = cliList(found);
        printResult(opts, list, () => listDetail(list));
      }),
    );
}
