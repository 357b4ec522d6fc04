/**
 * Imports of one list name at the same time: exactly one imports, every other is refused with a conflict (HTTP 409,
 * exit 2) — not a raw unique-violation (500), and never by deleting the winner's brand-new list. Also what a
 * failing import leaves (nothing that holds up the pool) and a file whose first row is data, not a header.
 */
import { Readable } from 'node:stream';
import { importContacts } from '../../../src/import/import-contacts';
import { ConflictError } from '../../../src/errors';
import { useTestEnv } from '../../helpers/env';

const env = useTestEnv();

describe('concurrent imports of one list name', () => {
  it('one wins, the others get a conflict, and the winner’s list is whole', async () => {
    const c = env.container();
    for (let round = 0; round < 10; round++) {
      const name = `same-${round}`;
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_v, i) =>
          importContacts(c, Readable.from([`phone\n98765${String(43210 + i)}\n98765${String(53210 + i)}\n`]), { listName: name, fileName: `${i}.csv` }),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(refused.map((r) => (r.reason as Error).constructor.name)).toEqual(refused.map(() => ConflictError.name));
      const listId = won[0]!.value.listId;
      const { rows } = await c.pg.query(
        `SELECT l.id, l.status, l.accepted, count(x.id)::int AS contacts FROM contact_lists l LEFT JOIN contacts x ON x.list_id = l.id
          WHERE l.name = $1 GROUP BY l.id`,
        [name],
      );
      expect(rows).toEqual([{ id: listId, status: 'ready', accepted: 2, contacts: 2 }]);
    }
  });

  it('a failed import’s name can be imported again at once', async () => {
    const c = env.container();
    await expect(importContacts(c, Readable.from(['phone\n']), { listName: 'again', fileName: 'empty.csv' })).rejects.toThrow(/no data rows/);
    const ok = await importContacts(c, Readable.from(['phone\n9876543210\n']), { listName: 'again', fileName: 'ok.csv' });
    expect(ok.accepted).toBe(1);
  });

  it('imports failing all at once, as many as the pool has connections, neither hang nor starve the pool', async () => {
    const c = env.container();
    const size = c.pg.options.max ?? 10;
    const results = await Promise.allSettled(
      Array.from({ length: size }, (_v, i) => importContacts(c, Readable.from(['phone\n']), { listName: `failing-${i}`, fileName: `${i}.csv` })),
    );
    expect(results.map((r) => r.status)).toEqual(results.map(() => 'rejected'));
    const { rows } = await c.pg.query(`SELECT status::text AS status, count(*)::int AS n FROM contact_lists WHERE name LIKE 'failing-%' GROUP BY status`);
    expect(rows).toEqual([{ status: 'failed', n: size }]);
  });

  it('refuses a file without a header row instead of taking its first contact for the header', async () => {
    const c = env.container();
    const csv = '9876500001,Asha\n9876500002,Ravi\n';
    await expect(importContacts(c, Readable.from([csv]), { listName: 'no-header', fileName: 'bare.csv', phoneColumn: '1' })).rejects.toThrow(
      /line 1.*looks like data, not a header/,
    );
  });
});
