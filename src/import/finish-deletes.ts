/**
 * Finishes list deletions that were cut short (runs inside `bulksms worker`). A delete marks its list `deleting`
 * and then removes the contacts in batches (delete-list.ts); a CLI killed, an API server stopped or a database
 * blip midway left the list `deleting` until someone thought to run the delete again. The worker does that by
 * itself: at start and every `intervalMs` it runs deleteList on each list still `deleting`.
 *
 * Any number of workers (and a live `bulksms list delete` or `DELETE /api/lists/:id`) may look at the same list:
 * deleteList holds the list's advisory lock (LIST_DELETE_LOCK_CLASS) for the whole deletion and refuses, as a
 * ConflictError, while another holds it, so exactly one carries on and the others leave it for their next pass. A
 * list finished by someone else meanwhile is a NotFoundError, skipped the same way.
 */
import os from 'node:os';
import { recordAudit } from '../access/audit';
import type { Container } from '../container';
import { ConflictError, NotFoundError, coerceError } from '../errors';
import { deleteList, ListDeleteStopped, type DeleteListDeps, type DeleteListResult } from './delete-list';

export type ListDeleteFinisherDeps = DeleteListDeps & Pick<Container, 'prisma'>;

export interface ListDeleteFinisherOptions {
  /** Pause between passes (default 30 s); a pass also runs at start. */
  intervalMs?: number;
}

export interface ListDeleteFinisher {
  /** One pass: the lists this process finished (those another holds or finished are left out). */
  tick(): Promise<DeleteListResult[]>;
  start(): void;
  /** Stops between two batches (the list stays `deleting`, for the next worker) and waits for the pass to end. */
  stop(): Promise<void>;
}

const DEFAULT_INTERVAL_MS = 30_000;

export function createListDeleteFinisher(deps: ListDeleteFinisherDeps, opts: ListDeleteFinisherOptions = {}): ListDeleteFinisher {
  const log = deps.logger.child({ component: 'list-delete-finisher' });
  const stopping = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<DeleteListResult[]> | null = null;

  async function finishOne(listId: string): Promise<DeleteListResult | null> {
    try {
      const result = await deleteList(deps, listId, { signal: stopping.signal });
      // The delete that started it was never audited when it was a killed CLI (the CLI audits on success); this
      // entry says who removed the contacts in the end.
      await recordAudit(deps, {
        tokenId: null,
        action: 'list.delete',
        target: result.listId,
        details: { via: 'worker', host: os.hostname(), name: result.name, contactsRemoved: result.contactsRemoved, resumed: result.resumed },
      });
      log.info({ listId, name: result.name, contactsRemoved: result.contactsRemoved }, 'finished the delete of a list left `deleting`');
      return result;
    } catch (err) {
      // Another process is deleting it right now, or has finished it: nothing for this one to do.
      if (err instanceof ConflictError || err instanceof NotFoundError || err instanceof ListDeleteStopped) return null;
      log.warn({ listId, err: coerceError(err).message }, 'could not finish the delete of a list left `deleting`; trying again later');
      return null;
    }
  }

  async function pass(): Promise<DeleteListResult[]> {
    const { rows } = await deps.pg.query<{ id: string }>(`SELECT id FROM contact_lists WHERE status = 'deleting' ORDER BY created_at, id`);
    const finished: DeleteListResult[] = [];
    for (const { id } of rows) {
      if (stopping.signal.aborted) break;
      const result = await finishOne(id);
      if (result) finished.push(result);
    }
    return finished;
  }

  function tick(): Promise<DeleteListResult[]> {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  }

  const safeTick = (): void => {
    tick().catch((err: unknown) => log.warn({ err: coerceError(err).message }, 'list delete finisher pass failed'));
  };

  return {
    tick,
    start() {
      if (timer || stopping.signal.aborted) return;
      timer = setInterval(safeTick, opts.intervalMs ?? DEFAULT_INTERVAL_MS);
      timer.unref();
      safeTick();
    },
    async stop() {
      stopping.abort();
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
