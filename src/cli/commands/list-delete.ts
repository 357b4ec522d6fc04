/** `bulksms list delete <name|id>`: the list's contacts and reject report go; its campaigns' history stays. */
import type { Command } from 'commander';
import { deleteList } from '../../import/delete-list';
import { auditCliAction } from '../audit-cli';
import { withContainer } from '../context';
import { printResult, type OutputOptions } from '../output';
import { listGroup } from './list-group';

export function registerListDelete(program: Command): void {
  listGroup(program)
    .command('delete <name|id>')
    .description(
      'delete a contact list: its contacts (in short batches) and its reject report; refused while it is importing or a ' +
        'campaign not yet finished uses it. Its finished campaigns keep their messages, status and exports. Killed ' +
        'midway, the list stays `deleting`: a running `bulksms worker` finishes it, as does running this again. While a ' +
        'worker (or another delete) is deleting it, this waits for that and reports the end',
    )
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExample:\n  bulksms list delete diwali --json')
    .action(
      withContainer(async (c, ref: string, opts: OutputOptions) => {
        const pause = c.config.LIST_DELETE_TEST_PAUSE;
        // A list a worker is finishing (or another delete is removing) holds its delete lock: refused, the operator
        // was left to guess whether anything still needed doing. The command waits for that deleter and reports the end.
        const result = await deleteList(c, ref, {
          onBatch: pause ? testPause : undefined,
          waitIfBusy: {
            onWait: (list) =>
              process.stderr.write(`list "${list.name}" (${list.id}) is being deleted by a worker or another delete right now; waiting for it to finish (Ctrl-C leaves it to them)\n`),
          },
        });
        const finishedElsewhere = result.finishedElsewhere ?? false;
        await auditCliAction(c, 'list.delete', result.listId, {
          name: result.name,
          contactsRemoved: result.contactsRemoved,
          resumed: result.resumed,
          ...(finishedElsewhere ? { finishedElsewhere } : {}),
        });
        printResult(opts, { ...result, finishedElsewhere }, () => {
          const kept = result.campaigns ? `; kept for the history of ${result.campaigns} finished campaign(s)` : '';
          if (finishedElsewhere) return `list "${result.name}" (${result.listId}) deleted by the worker or delete that was finishing it; nothing left to do${kept}`;
          return `list "${result.name}" (${result.listId}) deleted: ${result.contactsRemoved} contacts removed${result.resumed ? ' (finishing an earlier delete)' : ''}${kept}`;
        });
      }),
    );
}

/** LIST_DELETE_TEST_PAUSE: after the first batch, say so on stderr and stall, so a test can SIGKILL the process here. */
let paused = false;
async function testPause(removed: number): Promise<void> {
  if (paused) return;
  paused = true;
  process.stderr.write(`list-delete-test-pause ${removed}\n`);
  await new Promise((resolve) => setTimeout(resolve, 60_000));
}
