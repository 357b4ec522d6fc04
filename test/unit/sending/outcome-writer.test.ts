import { DatabaseError } from 'pg';
import { OutcomeWriter, type OutcomeRow } from '../../../src/sending/ledger';

/** An error as PostgreSQL answers it (SQLSTATE `code`). */
const serverError = (message: string, code: string): DatabaseError => Object.assign(new DatabaseError(message, message.length, 'error'), { code });

/** PostgreSQL's answer to the outcome write: every row written, counted by the status it left (all `sent` here). */
const allWritten = (q: { values: unknown[][] }) => ({ rows: [{ status: 'sent', n: q.values[0]!.length }] });

/** A pool that accepts every write and records nothing (the writer's batching is what is under test). */
const acceptingPool = { query: async (q: { values: unknown[][] }) => allWritten(q) } as never;

const request = (sessionId: string, recipients: number): OutcomeRow[] =>
  Array.from({ length: recipients }, (_v, i) => ({ id: `${sessionId}-${i}`, attempts: 1, claimedAt: '1', status: 'sent', sessionId }));

describe('OutcomeWriter', () => {
  it('commits one request’s rows (a packed session) in one batch, even across the batch-size limit', async () => {
    const batches: string[][] = [];
    const writer = new OutcomeWriter(acceptingPool, { maxRows: 500, afterCommit: async (rows) => void batches.push(rows.map((r) => r.sessionId ?? '')) });
    // 450 rows of other requests, then a pack of 100 that crosses 500.
    const done = [1, 2, 3, 4].map((k) => writer.writeMany(request(`S${k}`, 100)));
    done.push(writer.writeMany(request('S5', 50)), writer.writeMany(request('PACK', 100)));
    await Promise.all(done);
    await writer.flush();
    const withPack = batches.filter((b) => b.includes('PACK'));
    expect(withPack).toHaveLength(1);
    expect(withPack[0]!.filter((s) => s === 'PACK')).toHaveLength(100);
    expect(batches.flat()).toHaveLength(550);
  });
});

describe('OutcomeWriter while PostgreSQL is unavailable', () => {
  afterEach(() => jest.useRealTimers());

  // A restart with crash recovery, or a failover, easily takes a minute. Giving up after ~25 s left the messages
  // `sending` for the recovery lease to call `unknown`: an accepted request's session id was lost (its delivery
  // report never matched), a request certainly not sent was never sent.
  it.each([
    ['refused connections', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['a server starting up', serverError('the database system is starting up', '57P03')],
  ])('keeps the outcome until it is written, through a minute of %s', async (_what, unavailable) => {
    jest.useFakeTimers();
    const outageEnds = Date.now() + 60_000;
    let calls = 0;
    const pool = {
      query: async (q: { values: unknown[][] }) => {
        calls++;
        if (Date.now() < outageEnds) throw unavailable;
        return allWritten(q);
      },
    } as never;
    const writer = new OutcomeWriter(pool);
    let settled: string | undefined;
    writer.write({ id: '1', attempts: 1, claimedAt: '1', status: 'sent', sessionId: 'S1' }).then(
      () => (settled = 'written'),
      (err: Error) => (settled = `rejected: ${err.message}`),
    );
    await jest.advanceTimersByTimeAsync(75_000);
    expect(settled).toBe('written');
    expect(calls).toBeGreaterThan(10);
  });

  it('still gives up on an error retrying cannot fix (the statement itself refused)', async () => {
    jest.useFakeTimers();
    const pool = {
      query: async () => {
        throw serverError('permission denied for table messages', '42501');
      },
    } as never;
    const writer = new OutcomeWriter(pool);
    const written = writer.write({ id: '1', attempts: 1, claimedAt: '1', status: 'sent', sessionId: 'S1' });
    const outcome = expect(written).rejects.toThrow('permission denied');
    await jest.advanceTimersByTimeAsync(60_000);
    await outcome;
  });
});
