/**
 * Deleting a contact list. Its contacts go; the history of the campaigns that used it does not: messages carry
 * their own phone, text and variables (`messages.contact_id` has no foreign key and nothing reads contacts through
 * it), and the campaign pages read the list's name and country from its row, so a list still named by campaigns
 * stays as a `deleted` row without contacts or reject report, and a list no campaign names is removed outright.
 *
 * Refused while the list is importing, and while a campaign could still read its contacts: draft, scheduled,
 * running or paused, or a cron campaign between two runs (completed or failed, its schedule still firing).
 *
 * A list of a million contacts must not be deleted by one statement (the list row's delete trigger would remove
 * them all in one transaction, its locks held throughout): the list is first marked `deleting` (committed, so
 * nothing new can use it: campaign create and start want `ready`, an import refuses the name), then its contacts
 * go in batches of LIST_DELETE_BATCH, each its own short transaction, then the reject report, then the row. Killed
 * at any point, the list stays `deleting`: a running `bulksms worker` carries on from there by itself
 * (finish-deletes.ts), as does running the delete again.
 */
import { rm } from 'node:fs/promises';
import type { PoolClient } from 'pg';
import type { Container } from '../container';
import { LIST_DELETE_LOCK_CLASS } from '../db/advisory-locks';
import { ConflictError, NotFoundError, ServiceError } from '../errors';
import { removeUnfinishedReport } from './import-contacts';
import { failAbandonedImports } from './list-store';
import { didYouMeanList } from './list-index';

export type DeleteListDeps = Pick<Container, 'config' | 'logger' | 'pg' | 'prisma'>;

export interface DeleteListOptions {
  /** Called after each batch with the contacts removed so far (tests pause here to kill the process). */
  onBatch?: (removed: number) => Promise<void>;
  /**
   * Once aborted (a worker or the API server stopping), the deletion stops between two batches with
   * ListDeleteStopped: the list stays `deleting`, its lock released, for the next worker or delete to finish.
   */
  signal?: AbortSignal;
  /**
   * While another process holds the list's delete lock (a worker finishing it, another delete), wait for it instead of
   * refusing (ConflictError): `onWait` is told once, then the lock is tried every `pollMs` (default 500). Gone or
   * `deleted` by then, the result says so (`finishedElsewhere`); still `deleting` (its holder stopped midway), this
   * call finishes it.
   */
  waitIfBusy?: { onWait: (list: { id: string; name: string }) => void; pollMs?: number };
}

/** A deletion stopped between two batches by its caller's stop signal (DeleteListOptions.signal). */
export class ListDeleteStopped extends ServiceError {
  constructor(name: string) {
    super(`the deletion of list "${name}" stopped midway: the process deleting it is shutting down; the list stays \`deleting\`: a running \`bulksms worker\` finishes it, or delete it again`);
  }
}

export interface DeleteListResult {
  listId: string;
  name: string;
  /** Contacts this call removed (a re-run after a killed delete counts only what was left). */
  contactsRemoved: number;
  /** Campaigns that still name the list: its row stays as `deleted` for them; 0 and the row is gone. */
  campaigns: number;
  /** `deleted` (kept for its campaigns) or `removed` (no campaign named it: the row is gone too). */
  outcome: 'deleted' | 'removed';
  /** The deletion had been started by an earlier call that did not finish (killed, or failed midway). */
  resumed: boolean;
  /**
   * Set (true) only when this call waited (`waitIfBusy`) and another process — a worker, another delete — finished the
   * list meanwhile: nothing was left for this one (`contactsRemoved` 0).
   */
  finishedElsewhere?: true;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Campaign statuses that may still read the list's contacts (a start, the next firing, the feeder's renders). */
const LIVE_CAMPAIGN_SQL = `(status IN ('draft', 'scheduled', 'running', 'paused') OR (cron IS NOT NULL AND status IN ('completed', 'failed')))`;

/** How long the delete waits for the list row's lock (held by an import's transaction for the whole import). */
const ROW_LOCK_WAIT = '5s';

/** Campaigns named in a refusal; the rest are counted. */
const NAMED_CAMPAIGNS = 5;

interface ListRow {
  id: string;
  name: string;
  status: string;
  reject_report_path: string | null;
}

export async function deleteList(deps: DeleteListDeps, ref: string, opts: DeleteListOptions = {}): Promise<DeleteListResult> {
  // A list whose importer was killed is `failed` (and deletable), not `importing` for good.
  await failAbandonedImports(deps.pg, (id) => removeUnfinishedReport(deps, id));
  const found = await findList(deps, ref);
  const client = await deps.pg.connect();
  let locked = false;
  try {
    const tryLock = async (): Promise<boolean> => {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LIST_DELETE_LOCK_CLASS, found.id]);
      return rows[0]?.ok === true;
    };
    locked = await tryLock();
    if (!locked) {
      const wait = opts.waitIfBusy;
      if (!wait) throw new ConflictError(`list "${found.name}" is being deleted by another request or a worker right now`);
      wait.onWait(found);
      // Polled, not pg_advisory_lock: a blocked statement would not notice the holder's session ending any sooner,
      // and could not be told apart from a stuck one.
      while (!(locked = await tryLock())) await new Promise((r) => setTimeout(r, wait.pollMs ?? 500));
      const finished = await finishedMeanwhile(client, found);
      if (finished) return finished;
    }
    const list = await markDeleting(client, found.id);
    const resumed = list.status === 'deleting';
    const contactsRemoved = await deleteContacts(client, list, deps.config.LIST_DELETE_BATCH, opts);
    await removeRejectReport(list);
    const { campaigns } = await finish(client, list.id);
    deps.logger.info({ listId: list.id, name: list.name, contactsRemoved, campaigns, resumed }, 'list deleted');
    return { listId: list.id, name: list.name, contactsRemoved, campaigns, outcome: campaigns ? 'deleted' : 'removed', resumed };
  } finally {
    if (locked) await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LIST_DELETE_LOCK_CLASS, found.id]).catch(() => undefined);
    client.release();
  }
}

/** The list's end as another deleter left it (the row gone, or kept `deleted`); null while there is work left. */
async function finishedMeanwhile(client: PoolClient, list: { id: string; name: string }): Promise<DeleteListResult | null> {
  const { rows } = await client.query<{ status: string; campaigns: number }>(
    `SELECT status::text AS status, (SELECT count(*)::int FROM campaigns WHERE list_id = l.id) AS campaigns FROM contact_lists l WHERE id = $1`,
    [list.id],
  );
  const row = rows[0];
  if (row && row.status !== 'deleted') return null;
  const campaigns = row?.campaigns ?? 0;
  return { listId: list.id, name: list.name, contactsRemoved: 0, campaigns, outcome: row ? 'deleted' : 'removed', resumed: true, finishedElsewhere: true };
}

/**
 * By id, or by name among the lists not yet deleted (a deleted list's name may belong to a newer list). Its refusals
 * name no input: the list is `list delete`'s argument or the API's path id, never the `--list` option they read as.
 */
async function findList(deps: DeleteListDeps, ref: string): Promise<{ id: string; name: string }> {
  // An id wins over a list that happens to be named like one.
  const { rows } = await deps.pg.query<{ id: string; name: string; status: string }>(
    `SELECT id, name, status::text AS status FROM contact_lists WHERE name = $1 OR id = $2::uuid
      ORDER BY (id IS NOT DISTINCT FROM $2::uuid) DESC LIMIT 1`,
    [ref, UUID.test(ref) ? ref : null],
  );
  const list = rows[0];
  if (!list) throw new NotFoundError(`no contact list named or with id "${ref}"${await didYouMeanList(deps, ref, '')}`);
  if (list.status === 'deleted') throw new NotFoundError(`contact list "${list.name}" (${list.id}) is already deleted`);
  // Said at once: its importer holds the row's lock until it commits, which markDeleting would wait for.
  if (list.status === 'importing') throw importingError(list.name);
  return list;
}

const importingError = (name: string): ConflictError => new ConflictError(`list "${name}" is being imported; delete it when the import has finished`);

/**
 * Checks that nothing uses the list and marks it `deleting`, in one transaction holding the list row's lock: a
 * campaign create takes the row's share lock and re-reads its status before it inserts (campaign-service.ts), so
 * either the campaign exists here and the delete is refused, or the create finds the list `deleting`. A list already
 * `deleting` (an earlier delete killed midway) is not checked again: nothing could start using it since.
 */
async function markDeleting(client: PoolClient, listId: string): Promise<ListRow> {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL lock_timeout = '${ROW_LOCK_WAIT}'`);
    const { rows } = await client.query<ListRow>(
      `SELECT id, name, status::text AS status, reject_report_path FROM contact_lists WHERE id = $1 FOR UPDATE`,
      [listId],
    ).catch((err: unknown) => {
      // lock_not_available: an import of this list is writing its contacts.
      if ((err as { code?: string }).code === '55P03') throw new ConflictError('the list is being imported or changed right now; try again when that has finished');
      throw err;
    });
    const list = rows[0];
    if (!list) throw new NotFoundError(`contact list ${listId} no longer exists`);
    if (list.status === 'deleted') throw new NotFoundError(`contact list "${list.name}" (${list.id}) is already deleted`);
    if (list.status === 'importing') throw importingError(list.name);
    if (list.status !== 'deleting') {
      await refuseWhileInUse(client, list);
      await client.query(`UPDATE contact_lists SET status = 'deleting' WHERE id = $1`, [listId]);
    }
    await client.query('COMMIT');
    return list;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function refuseWhileInUse(client: PoolClient, list: ListRow): Promise<void> {
  const { rows } = await client.query<{ id: string; name: string; status: string; cron: string | null; total: number }>(
    `SELECT id, name, status::text AS status, cron, count(*) OVER ()::int AS total FROM campaigns
      WHERE list_id = $1 AND ${LIVE_CAMPAIGN_SQL} ORDER BY created_at, id LIMIT ${NAMED_CAMPAIGNS}`,
    [list.id],
  );
  if (!rows.length) return;
  const named = rows.map((c) => {
    const between = c.cron !== null && (c.status === 'completed' || c.status === 'failed');
    return `"${c.name}" (${c.id}, ${between ? `${c.status}, its cron schedule still firing` : c.status})`;
  });
  const more = rows[0]!.total - rows.length;
  throw new ConflictError(
    `list "${list.name}" is used by campaign${rows[0]!.total === 1 ? '' : 's'} ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}` +
      ': cancel them or let them finish (a cron campaign: cancel it to end its schedule), then delete the list',
  );
}

/**
 * Keyset batches over (list_id, id), each statement its own transaction: an import or a send waits at most one
 * batch for anything this touches. Nothing adds contacts to a `deleting` list, so the keyset misses none.
 */
async function deleteContacts(client: PoolClient, list: ListRow, batch: number, { onBatch, signal }: DeleteListOptions): Promise<number> {
  let removed = 0;
  let after = '0';
  for (;;) {
    if (signal?.aborted) throw new ListDeleteStopped(list.name);
    const { rows } = await client.query<{ n: number; last: string | null }>(
      `WITH doomed AS (SELECT id FROM contacts WHERE list_id = $1 AND id > $2::bigint ORDER BY id LIMIT $3),
            gone AS (DELETE FROM contacts c USING doomed d WHERE c.id = d.id RETURNING c.id)
       SELECT count(*)::int AS n, max(id)::text AS last FROM gone`,
      [list.id, after, batch],
    );
    const { n, last } = rows[0]!;
    if (n === 0 || last === null) return removed;
    removed += n;
    after = last;
    await onBatch?.(removed);
  }
}

/** The import's row report holds raw rows (numbers, names): it goes with the list. */
async function removeRejectReport(list: ListRow): Promise<void> {
  if (!list.reject_report_path) return;
  try {
    await rm(list.reject_report_path, { force: true });
  } catch (err) {
    throw new ServiceError("the list's reject report could not be removed; the list stays `deleting`: fix that and delete the list again", {
      cause: err,
      serverDetail: `${list.reject_report_path}: ${(err as Error).message}`,
    });
  }
}

/** The row: kept as `deleted` for the campaigns that name it, or removed. */
async function finish(client: PoolClient, listId: string): Promise<{ campaigns: number }> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT 1 FROM contact_lists WHERE id = $1 FOR UPDATE`, [listId]);
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM campaigns WHERE list_id = $1`, [listId]);
    const campaigns = rows[0]!.n;
    if (campaigns) {
      await client.query(`UPDATE contact_lists SET status = 'deleted', reject_report_path = NULL WHERE id = $1`, [listId]);
    } else {
      // Its contacts are gone already: the row's delete trigger has nothing left to remove.
      await client.query(`DELETE FROM contact_lists WHERE id = $1`, [listId]);
    }
    await client.query('COMMIT');
    return { campaigns };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
