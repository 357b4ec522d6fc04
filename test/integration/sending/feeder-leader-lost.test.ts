/**
 * The feeder's leader holds a PostgreSQL session lock, and the leader alone feeds, expires stale claims (`sending` →
 * `unknown`) and hands back queued rows whose jobs were lost. A leader killed by a signal closes its connection and
 * the lock goes with it — but a leader whose host is lost (power, kernel panic, a network partition, a frozen VM)
 * closes nothing: PostgreSQL keeps the session, and with it the lock, until TCP keep-alive gives up (two hours and
 * more by default). Every other worker then stood by for those hours: nothing fed, the dead host's claims left
 * `sending`. The lock's session now ends once it has been silent longer than the leader's lease.
 */
import net from 'node:net';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { useTestEnv } from '../../helpers/env';
import { waitFor } from '../../helpers/sending-fixtures';
import { startFeeder, type Feeder, type FeederOptions } from '../../../src/sending/feeder';
import { SEND_QUEUE, sendingKeys, type SendJobData } from '../../../src/sending/keys';

const env = useTestEnv();
const LEADER_IDLE_MS = 1_500;

/** A TCP relay to PostgreSQL that can go silent both ways without closing anything, as a lost host does. */
async function relay(): Promise<{ port: number; blackhole(): void; close(): Promise<void> }> {
  const target = new URL(env.config.DATABASE_URL);
  let silent = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
    }
    client.on('data', (chunk) => void (silent || upstream.write(chunk)));
    upstream.on('data', (chunk) => void (silent || client.write(chunk)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    blackhole: () => void (silent = true),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

it('another worker takes the lead when the leader’s connection goes silent; a live leader keeps it', async () => {
  const c = env.container();
  const queue = new Queue<SendJobData>(SEND_QUEUE, { connection: c.redis, prefix: env.config.QUEUE_PREFIX });
  const link = await relay();
  const viaRelay = new URL(env.config.DATABASE_URL);
  viaRelay.host = `127.0.0.1:${link.port}`;
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
    const first = feeder(viaRelay.toString());
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
