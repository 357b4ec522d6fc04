/**
 * Composition root: config → logger → PostgreSQL (Prisma + pg pool) → Redis. Domain services are built
 * on top of these by the entry points (CLI commands, API server, workers). `close()` releases everything
 * in reverse order and keeps the first error.
 */
import type { Pool } from 'pg';
import { type Config, loadConfig, secretValues } from './config';
import { createLogger, type Logger } from './logger';
import { createPrisma, type PrismaClient } from './db/prisma';
import { createPgPool } from './db/pg';
import { createProducerRedis, createWorkerRedis, type Redis } from './db/redis';
import { Releasers } from './lib/releasers';

export interface Container {
  config: Config;
  logger: Logger;
  prisma: PrismaClient;
  pg: Pool;
  /** Shared non-blocking Redis connection (commands, Lua scripts, producers). */
  redis: Redis;
  /** A new connection suitable for a BullMQ Worker (blocking commands); closed with the container. */
  newWorkerRedis(): Redis;
  /** Register a resource to release on close (LIFO). */
  onClose(name: string, release: () => Promise<unknown> | unknown): void;
  close(): Promise<void>;
}

export interface ContainerOptions {
  config?: Config;
  logger?: Logger;
  pgPoolSize?: number;
  /** The default logger's closed-pipe hook (LoggerOptions.onClosedOutput). */
  onLogOutputClosed?: () => void;
}

export function createContainer(opts: ContainerOptions = {}): Container {
  const config = opts.config ?? loadConfig();
  const releasers = new Releasers();
  const logger =
    opts.logger ??
    createLogger({
      level: config.LOG_LEVEL,
      pretty: config.NODE_ENV === 'development',
      secrets: secretValues(config),
      onClosedOutput: opts.onLogOutputClosed,
    });
  const prisma = createPrisma(config.DATABASE_URL, config, opts.pgPoolSize ?? 10);
  releasers.add('prisma', () => prisma.$disconnect());
  const pg = createPgPool(config.DATABASE_URL, config, opts.pgPoolSize ?? 10);
  releasers.add('pg', () => pg.end());
  const redis = createProducerRedis(config.REDIS_URL);
  redis.on('error', (err) => logger.warn({ err }, 'redis connection error'));
  releasers.add('redis', () => closeRedis(redis));

  let closed = false;
  return {
    config,
    logger,
    prisma,
    pg,
    redis,
    newWorkerRedis() {
      const conn = createWorkerRedis(config.REDIS_URL);
      conn.on('error', (err) => logger.warn({ err }, 'redis worker connection error'));
      releasers.add('redis-worker', () => closeRedis(conn));
      return conn;
    },
    onClose: (name, release) => releasers.add(name, release),
    async close() {
      if (closed) return;
      closed = true;
      await releasers.releaseAll();
    },
  };
}

/**
 * QUIT on a connection that is up, so the replies still due arrive first. One that is down is dropped: QUIT would
 * queue behind the commands waiting for it until ioredis' reconnection attempts give up (4–13 s of a SIGTERM'd
 * worker that was waiting for Redis; for good on a worker connection, which retries forever). Commands still queued
 * on it are then never answered (ioredis leaves its offline queue as it is): nothing may await one at close.
 */
async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') return redis.disconnect();
  await redis.quit().catch(() => redis.disconnect());
}
