/**
 * A pooled client lent out (an import streaming its file in one transaction, a control change) whose session the
 * server ends between two queries — a restart, pg_terminate_backend, or a link silent past PG_KEEPALIVE_* — emitted
 * an 'error' nothing listened to, and the process died of it. The holder's next query now fails instead.
 */
import { Client } from 'pg';
import { useTestEnv } from '../../helpers/env';
import { withClient } from '../../../src/db/pg';

const env = useTestEnv();

async function terminate(pid: number): Promise<void> {
  const admin = new Client({ connectionString: env.config.DATABASE_URL });
  await admin.connect();
  try {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await admin.end();
  }
}

/** Time for the server's goodbye to reach the client between two of its queries. */
const settle = () => new Promise((r) => setTimeout(r, 300));

it('a checked-out pool client whose session ends fails its next query, and the process lives on', async () => {
  const c = env.container();
  const held = await c.pg.connect();
  let broken = false;
  try {
    await held.query('BEGIN');
    await terminate((await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
    await settle();
    await expect(held.query('SELECT 1')).rejects.toThrow();
    broken = true;
  } finally {
    held.release(broken);
  }
  expect((await c.pg.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
});

it('so does withClient’s client', async () => {
  await expect(
    withClient(env.config.DATABASE_URL, async (client) => {
      await terminate((await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
      await settle();
      await client.query('SELECT 1');
    }),
  ).rejects.toThrow();
});
