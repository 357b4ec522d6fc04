import type { Pool, PoolClient } from 'pg';

export interface TransactionOptions {
  /**
   * Runs the whole transaction again, up to this many more times, when PostgreSQL aborted it as a deadlock victim
   * (40P01) or a serialization failure (40001). Only for `fn`s that do nothing but queries on `c`: the retry repeats
   * all of it. Default 0.
   */
  retryAborted?: number;
}

/** SQLSTATEs of a transaction PostgreSQL aborted for the sake of another one: the same work succeeds when run again. */
const ABORTED_FOR_ANOTHER = new Set(['40P01', '40001']);

/** Runs `fn` in one transaction on a pooled client: committed when it resolves, rolled back when it throws. */
export async function inTransaction<T>(pg: Pool, fn: (c: PoolClient) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
  for (let retriesLeft = opts.retryAborted ?? 0; ; retriesLeft--) {
    try {
      return await once(pg, fn);
    } catch (err) {
      if (retriesLeft <= 0 || !ABORTED_FOR_ANOTHER.has(String((err as { code?: unknown }).code))) throw err;
    }
  }
}

async function once<T>(pg: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const client = await pg.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Runs one SQL statement in a transaction that is still open; resolves to the number of rows it changed. */
export type TxExecute = (sql: string, params: readonly unknown[]) => Promise<number>;

/**
 * A caller's statements to commit together with a service's write: called inside the service's transaction with
 * the answer the service is about to return, after its own writes and before COMMIT. Throwing rolls everything back.
 * (The API's Idempotency-Key record completes this way: see src/api/idempotency.ts.)
 */
export type BeforeCommit<T> = (execute: TxExecute, result: T) => Promise<void>;

/** TxExecute on a pg client (inside BEGIN … COMMIT), or on the pool for a statement of its own. */
export const executeOn = (c: Pool | PoolClient): TxExecute => async (sql, params) => (await c.query(sql, [...params])).rowCount ?? 0;
