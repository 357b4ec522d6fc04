/**
 * contacts.list_id → contact_lists.id is enforced by statement-level triggers instead of a per-row foreign
 * key (migration 20261127010000). They must still refuse orphans, take contacts along with their list,
 * and make a concurrent list delete wait for an import that is adding contacts to it.
 */
import { randomUUID } from 'node:crypto';
import { seedList } from '../../fixtures/seed-list';
import { useTestEnv } from '../../helpers/env';

const env = useTestEnv();
const pg = () => env.container().pg;
const count = async (listId: string) =>
  (await pg().query<{ n: number }>('SELECT count(*)::int AS n FROM contacts WHERE list_id = $1', [listId])).rows[0]!.n;

describe('contacts belong to a list', () => {
  it('refuses a contact whose list does not exist, on insert and on update', async () => {
    const ghost = randomUUID();
    await expect(
      pg().query(`INSERT INTO contacts (list_id, phone, raw_phone, source_line) VALUES ($1, '+919876543210', 'x', 2)`, [ghost]),
    ).rejects.toMatchObject({ code: '23503', detail: `Key (list_id)=(${ghost}) is not present in table "contact_lists".` });
    const listId = await seedList(pg(), 'real', [], [{ phone: '+919876543210' }]);
    await expect(pg().query('UPDATE contacts SET list_id = $2 WHERE list_id = $1', [listId, ghost])).rejects.toMatchObject({ code: '23503' });
    expect(await count(listId)).toBe(1);
  });

  it('deletes a list’s contacts with the list, and truncates them with the lists', async () => {
    const a = await seedList(pg(), 'a', [], [{ phone: '+919876543210' }, { phone: '+919876543211' }]);
    const b = await seedList(pg(), 'b', [], [{ phone: '+919876543212' }]);
    await pg().query('DELETE FROM contact_lists WHERE id = $1', [a]);
    expect(await count(a)).toBe(0);
    expect(await count(b)).toBe(1);
    await pg().query('TRUNCATE contact_lists CASCADE');
    expect((await pg().query('SELECT count(*)::int AS n FROM contacts')).rows[0]).toEqual({ n: 0 });
  });

  it('makes a list delete wait for a transaction adding contacts to it, then removes those too', async () => {
    const listId = await seedList(pg(), 'busy', [], []);
    const importer = await pg().connect();
    const deleter = await pg().connect();
    try {
      await importer.query('BEGIN');
      await importer.query(`INSERT INTO contacts (list_id, phone, raw_phone, source_line) VALUES ($1, '+919876543210', 'x', 2)`, [listId]);
      let deleted = false;
      const deleting = deleter.query('DELETE FROM contact_lists WHERE id = $1', [listId]).then(() => (deleted = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(deleted).toBe(false); // blocked by the KEY SHARE lock the insert check took
      await importer.query('COMMIT');
      await deleting;
      expect(await count(listId)).toBe(0);
    } finally {
      importer.release();
      deleter.release();
    }
  });
});
