/**
 * A list delete cut short (its list left `deleting`) is finished by the worker, without anyone running the delete
 * again: `bulksms worker` does it at start, and any number of finishers (workers) and live deletes share a list
 * through its advisory lock, exactly one removing its contacts.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { useTestEnv } from '../../helpers/env';
import { BIN, runCliAndKill } from '../../helpers/cli';
import { closedPort } from '../../helpers/api-server';
import { waitFor } from '../../helpers/sending-fixtures';
import { importContacts } from '../../../src/import/import-contacts';
import { createListDeleteFinisher } from '../../../src/import/finish-deletes';
import { LIST_DELETE_LOCK_CLASS } from '../../../src/db/advisory-locks';

jest.setTimeout(120_000);
const env = useTestEnv({ LIST_DELETE_BATCH: '40' });

async function importList(name: string, contacts: number) {
  const rows = Array.from({ length: contacts }, (_, i) => `98${String(10_000_000 + i)},Name ${i}`);
  const csv = ['phone,name', ...rows, '12345,Too Short', ''].join('\n');
  return importContacts(env.container(), Readable.from([csv]), { listName: name, fileName: `${name}.csv` });
}

async function listRow(id: string) {
  const { rows } = await env.container().pg.query<{ status: string; contacts: number }>(
    `SELECT status::text AS status, (SELECT count(*)::int FROM contacts WHERE list_id = l.id) AS contacts FROM contact_lists l WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/** A delete that marked the list and removed nothing yet (as one killed right after its first transaction). */
async function markDeleting(listId: string): Promise<void> {
  await env.container().pg.query(`UPDATE contact_lists SET status = 'deleting' WHERE id = $1`, [listId]);
}

describe('a list left `deleting`', () => {
  it('is finished by `bulksms worker` on its own, and audited as the worker', async () => {
    const c = env.container();
    const list = await importList('killed', 130);
    const killed = await runCliAndKill(['list', 'delete', 'killed'], { ...env.env, LIST_DELETE_TEST_PAUSE: 'true' }, /list-delete-test-pause (\d+)/);
    expect(killed.signal).toBe('SIGKILL');
    expect(await listRow(list.listId)).toMatchObject({ status: 'deleting', contacts: 90 });

    const worker = spawn(process.execPath, [BIN, 'worker'], {
      env: { ...process.env, ...env.env, TWOFACTOR_BASE_URL: `http://127.0.0.1:${await closedPort()}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    worker.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the worker to finish the delete', async () => (await listRow(list.listId)) === undefined, 60_000, 200);
    } finally {
      worker.kill('SIGTERM');
    }
    expect({ code: await exited, stderr }).toMatchObject({ code: 0 });
    expect(existsSync(list.rejectReport!)).toBe(false);
    const audit = await c.prisma.auditLog.findFirstOrThrow({ where: { action: 'list.delete', target: list.listId } });
    expect(audit).toMatchObject({ tokenId: null });
    expect(audit.details).toMatchObject({ via: 'worker', name: 'killed', contactsRemoved: 90, resumed: true });
  });

  it('is left to whoever holds its lock (a live delete, another worker) and finished by the next pass', async () => {
    const c = env.container();
    const list = await importList('held', 100);
    await markDeleting(list.listId);
    const finisher = createListDeleteFinisher(c);
    const other = await c.pg.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1, hashtext($2))', [LIST_DELETE_LOCK_CLASS, list.listId]);
      expect(await finisher.tick()).toEqual([]);
      expect(await listRow(list.listId)).toMatchObject({ status: 'deleting', contacts: 100 });
    } finally {
      await other.query('SELECT pg_advisory_unlock_all()');
      other.release();
    }
    expect(await finisher.tick()).toEqual([expect.objectContaining({ listId: list.listId, contactsRemoved: 100, outcome: 'removed', resumed: true })]);
    expect(await listRow(list.listId)).toBeUndefined();
  });

  it('is finished exactly once by several workers passing at the same time', async () => {
    const c = env.container();
    const lists = [await importList('many-1', 120), await importList('many-2', 80)];
    for (const l of lists) await markDeleting(l.listId);
    const finishers = [createListDeleteFinisher(c), createListDeleteFinisher(c), createListDeleteFinisher(c)];
    const finished = (await Promise.all(finishers.map((f) => f.tick()))).flat();
    expect(finished.map((r) => [r.name, r.contactsRemoved]).sort()).toEqual([['many-1', 120], ['many-2', 80]]);
    for (const l of lists) {
      expect(await listRow(l.listId)).toBeUndefined();
      expect(await c.prisma.auditLog.count({ where: { action: 'list.delete', target: l.listId } })).toBe(1);
    }
  });

  it('stays `deleting` when the worker stops midway (between batches, its lock released), and the next one finishes it', async () => {
    const c = env.container();
    const list = await importList('stopped', 200);
    await markDeleting(list.listId);
    const first = createListDeleteFinisher(c);
    const pass = first.tick();
    await first.stop();
    expect(await pass).toEqual([]);
    const left = await listRow(list.listId);
    expect(left?.status).toBe('deleting');
    expect(left!.contacts).toBeGreaterThanOrEqual(160);

    const next = createListDeleteFinisher(c);
    expect(await next.tick()).toEqual([expect.objectContaining({ listId: list.listId, contactsRemoved: left!.contacts })]);
    expect(await listRow(list.listId)).toBeUndefined();
  });
});
