/**
 * The feeder's leader holds a PostgreSQL session lock, and the leader alone feeds, expires stale claims (`sending` →
 * `unknown`) and hands back queued rows whose jobs were lost. A leader killed by a signal closes its connection and
 * the lock goes with it — but a leader whose host is lost (power, kernel panic, a network partition, a frozen VM)
 * closes nothing: PostgreSQL keeps the session, and with it the lock, until TCP keep-alive gives up (two hours and
 * more by default). Every other worker then stood by for those hours: nothing fed, the dead host's claims left
 * `sending`. The lock's session now ends once it has been silent longer than the leader's lease.
 */
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { useTestEnv } from '../../helpers/env';
import { waitFor } from '../../helpers/sending-fixtures';
import { startFeeder, type Feeder, type FeederOptions } from '../../../src/sending/feeder';
import { SEND_QUEUE, sendingKeys, type SendJobData } from '../../../src/sending/keys';

import { startPgRelay, type PgRelay } from '../../helpers/pg-relay';

const env = useTestEnv();
const LEADER_IDLE_MS = 1_500;

/** A relay to PostgreSQL that can go silent both ways without closing anything, as a lost host does. */
async function relay(): Promise<PgRelay & { blackhole(): void }> {
  let silent = false;
  const link = await startPgRelay(env.config.DATABASE_URL, {
    toServer: (chunk, server) => void (silent || server.write(chunk)),
    toClient: (chunk, client) => void (silent || client.write(chunk)),
  });
  return { ...link, blackhole: () => void (silent = true) };
}

it('another worker takes the lead when the leader’s connection goes silent; a live leader keeps it', async () => {
  const c = env.container();
  const queue = new Queue<SendJobData>(SEND_QUEUE, { connection: c.redis, prefix: env.config.QUEUE_PREFIX });
  const link = await relay();
  const opts = {
    window: 20, batchSize: 5, tickMs: 20, leaseMs: 60_000, staleQueuedMs: 60_000,
    epochKey: sendingKeys(env.config.QUEUE_PREFIX).epoch, lockKey: `leader-lost:${env.config.QUEUE_PREFIX}`,
    leaderIdleMs: LEADER_IDLE_MS,
  } as FeederOptions;
  const feeders: Feeder[] = [];
  const feeder = (url: string): Feeder => {
    const f = startFeeder({ pg: c.pg, redis: c.redis, queue, logger: c.logger, newClient: () => new Client({ connectionString: url }) }, opts);
    feeders.push(f);
    return f;
  };
  try {
    const first = feeder(link.url);
    await waitFor('the first feeder leads', async () => first.isLeader(), 10_000, 20);
    const second = feeder(env.config.DATABASE_URL);
    // Alive, the leader keeps the lead well past its idle bound (each pass of the second finds the lock taken).
    await new Promise((r) => setTimeout(r, 3 * LEADER_IDLE_MS));
    expect({ first: first.isLeader(), second: second.isLeader() }).toEqual({ first: true, second: false });

    link.blackhole(); // the leader's host is gone: not a byte more either way, no FIN, no RST
    await waitFor('the second feeder leads', async () => second.isLeader(), 20_000, 50);
  } finally {
    await link.close();
    await Promise.all(feeders.map((f) => f.close()));
    await queue.obliterate({ force: true });
    await queue.close();
  }
});
