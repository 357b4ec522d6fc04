/**
 * Per-test-file isolation: `useTestEnv()` gives the file its own PostgreSQL database (cloned from the
 * migrated template) and its own QUEUE_PREFIX, and removes both afterwards so nothing is left behind.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config';
import { createContainer, type Container } from '../../src/container';
import { createLogger } from '../../src/logger';
import { maintenanceUrl, quoteIdent, withClient } from '../../src/db/pg';
import { deleteKeysWithPrefix } from '../../src/db/redis';
import { TEST_REDIS_URL, testServerUrl } from './urls';

export interface TestEnv {
  /** Config pointing at this file's database and Redis prefix (LOG_LEVEL silent unless TEST_LOG_LEVEL). */
  readonly config: Config;
  /** Environment variables for child processes (CLI, workers, simulator) sharing this file's isolation. */
  readonly env: Record<string, string>;
  /** A container over this file's database; created lazily, closed in afterAll. */
  container(): Container;
  /** Deletes every Redis key under this file's prefix. */
  flushRedis(): Promise<void>;
  /**
   * Registers a clean-up that runs before this env's own teardown closes the container and drops the database,
   * last registered first (like Go's t.Cleanup). Use it, not a top-level afterAll, for anything built on the
   * container (workers, API servers): Jest runs a file's afterAll hooks in declaration order, so a hook declared
   * after useTestEnv() ran only once the worker's pool, Redis keys and database were gone — and a worker closed
   * that late could hang in its feeder's last pass (an afterAll timeout in ~1 of 6 runs).
   */
  cleanup(fn: () => unknown): void;
}

export async function deleteRedisPrefix(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true });
  await redis.connect();
  try {
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

export function useTestEnv(overrides: Record<string, string> = {}): TestEnv {
  const runPid = process.env.BULKSMS_TEST_RUN_PID ?? String(process.pid);
  const suffix = randomBytes(4).toString('hex');
  const database = `bulksms_t_${runPid}_${suffix}`;
  const prefix = `bulksms-test-${suffix}`;
  const env: Record<string, string> = {
    DATABASE_URL: testServerUrl(database),
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    TWOFACTOR_API_KEY: 'test-key-0000-1111-2222-333344445555',
    REPORTS_DIR: `/tmp/bulksms-test-reports/${suffix}`,
    ...overrides,
  };
  const config = loadConfig(env);
  let container: Container | undefined;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    const template = process.env.BULKSMS_TEST_TEMPLATE_DB;
    if (!template) throw new Error('test/helpers/global-setup.ts did not run (no template database)');
    // Concurrent clones of one template can collide ("being accessed by other users"): retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await withClient(maintenanceUrl(env.DATABASE_URL!).adminUrl, (c) =>
          c.query(`CREATE DATABASE ${quoteIdent(database)} TEMPLATE ${quoteIdent(template)}`),
        );
        return;
      } catch (err) {
        if (attempt >= 50) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  });

  afterAll(async () => {
    // Every clean-up runs even when one fails (a worker that cannot close must not leave a server behind).
    const errors: unknown[] = [];
    for (const fn of cleanups.splice(0).reverse()) await Promise.resolve().then(fn).catch((err: unknown) => void errors.push(err));
    if (container) await container.close().catch(() => undefined);
    await deleteRedisPrefix(TEST_REDIS_URL, prefix);
    await withClient(maintenanceUrl(env.DATABASE_URL!).adminUrl, (c) =>
      c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`),
    );
    if (errors.length) throw errors[0];
  });

  return {
    config,
    env,
    container() {
      container ??= createContainer({ config, logger: createLogger({ level: config.LOG_LEVEL }) });
      return container;
    },
    flushRedis: () => deleteRedisPrefix(TEST_REDIS_URL, prefix),
    cleanup: (fn) => void cleanups.push(fn),
  };
}
