/** ioredis factories. Worker (blocking) connections need maxRetriesPerRequest: null; producers fail fast. */
import { Redis, type RedisOptions } from 'ioredis';

export type { Redis };

export function createWorkerRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, ...extra });
}

export function createProducerRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: 3, ...extra });
}

/** Deletes every key under `<prefix>:` (a deployment's or a test run's keys) without blocking Redis (SCAN + UNLINK). */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}
