/**
 * BullMQ queue handles for the API: bull-board at /queues and the queue-depth metric. The API only reads
 * and inspects; it never processes jobs. Queue names come from the sending domain (passed in by `serve`).
 */
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Container } from '../container';

export function openQueues(container: Container, names: readonly string[]): Queue[] {
  return names.map((name) => {
    const queue = new Queue(name, { connection: container.redis, prefix: container.config.QUEUE_PREFIX });
    // A queue's 'error' nobody listens to is printed raw by BullMQ (console.error): a stack on every reconnect
    // while Redis is down, and with a refused password the HELLO command's arguments, the password among them.
    // Through the logger it is redacted like every other Redis error.
    queue.on('error', (err) => container.logger.warn({ err, queue: name }, 'queue error'));
    return queue;
  });
}

export const BULL_BOARD_PATH = '/queues';

export async function mountBullBoard(app: FastifyInstance, queues: readonly Queue[]): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    // Read-only: the send queue holds id batches the feeder derives from PostgreSQL. A job added, removed, cleaned or
    // the queue paused by hand here would go around the campaign's own state (pause, resume, retry do that right).
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'bulksms queues' } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
}
