import { useTestEnv } from '../../helpers/env';

const env = useTestEnv();

describe('composition root', () => {
  it('reaches PostgreSQL through Prisma and pg, and Redis under its own prefix', async () => {
    const c = env.container();
    const lists = await c.prisma.contactList.count();
    expect(lists).toBe(0);
    const { rows } = await c.pg.query<{ db: string }>('SELECT current_database() AS db');
    expect(rows[0]?.db).toBe(new URL(env.config.DATABASE_URL).pathname.slice(1));
    await c.redis.set(`${env.config.QUEUE_PREFIX}:probe`, '1');
    expect(await c.redis.get(`${env.config.QUEUE_PREFIX}:probe`)).toBe('1');
    const worker = c.newWorkerRedis();
    expect(await worker.ping()).toBe('PONG');
  });
});
