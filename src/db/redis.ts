/** ioredis factories. Worker (blocking) connections need maxRetriesPerRequest: null; producers fail fast. */
import { Redis, type RedisOptions } from 'ioredis';

export type { Redis };

export function createWorkerRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, ...extra });
}

export function createProducerRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: 3, ...extra });
}
