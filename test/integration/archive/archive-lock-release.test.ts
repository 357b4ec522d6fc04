/**
 * An archive or restore frees the database's archive lock when it returns: the next one, right after, must not find
 * it taken. Destroying the lock's connection alone left the lock to the server, which frees it only once it has
 * noticed the closed connection — later still across a network (here a proxy that passes the close on after 1.5 s).
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { restoreArchive } from '../../../src/archive/restore';
import { useTestEnv } from '../../helpers/env';
import { seedRuns } from '../../helpers/archive-fixtures';

import { startPgRelay, type PgRelay } from '../../helpers/pg-relay';

const env = useTestEnv();

/** A relay to PostgreSQL that passes a client's Terminate on to the server only after `delayMs`. */
function slowCloseProxy(delayMs: number): Promise<PgRelay> {
  // The protocol's Terminate message ('X', length 4) is what ends the session: held back like a slow server.
  const terminate = Buffer.from([0x58, 0, 0, 0, 4]);
  return startPgRelay(env.env.DATABASE_URL!, {
    toServer: (chunk, server) => {
      if (chunk.equals(terminate)) setTimeout(() => server.end(chunk), delayMs);
      else server.write(chunk);
    },
  });
}

it('the next archive right after a restore (or archive) finds the lock free', async () => {
  const c = env.container();
  await seedRuns(c.pg, [{ rows: 5, endedDaysAgo: 800 }]);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-archive-lock-'));
  expect(await archiveExpiredRuns(c, { dest: dir })).toMatchObject({ runs: 1, rows: 5 });
  const proxy = await slowCloseProxy(1500);
  const slowPg = new Pool({ connectionString: proxy.url, max: 2 });
  slowPg.on('error', () => undefined);
  try {
    expect(await restoreArchive({ ...c, pg: slowPg }, dir)).toMatchObject({ runs: 1, rows: 5, inserted: 5 });
    expect(await archiveExpiredRuns(c, { dest: dir, dryRun: true })).toMatchObject({ runs: 1, rows: 5 });
    expect(await archiveExpiredRuns({ ...c, pg: slowPg }, { dest: dir })).toMatchObject({ runs: 1, rows: 5 });
    expect(await restoreArchive(c, dir)).toMatchObject({ runs: 1, rows: 5, inserted: 5 });
  } finally {
    await slowPg.end();
    await proxy.close();
  }
});
