import { OutcomeWriter, type OutcomeRow } from '../../../src/sending/ledger';

/** A pool that accepts every write and records nothing (the writer's batching is what is under test). */
const acceptingPool = { query: async (q: { values: unknown[][] }) => ({ rowCount: q.values[0]!.length }) } as never;

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
