/**
 * The test env's clean-ups run while the container still works: a worker or API server closed there can still
 * reach PostgreSQL and Redis (a top-level afterAll declared after useTestEnv() runs after the env's teardown).
 */
import { useTestEnv } from '../../helpers/env';

const env = useTestEnv();
const order: string[] = [];

env.cleanup(async () => {
  // Registered first, so it runs last: the second clean-up already ran, and the container is still open.
  expect(order).toEqual(['second']);
  const { rows } = await env.container().pg.query<{ one: number }>('SELECT 1 AS one');
  expect(rows[0]!.one).toBe(1);
  expect(await env.container().redis.ping()).toBe('PONG');
});
env.cleanup(() => void order.push('second'));

it('registers clean-ups without running them during the tests', () => {
  expect(order).toEqual([]);
});
