/**
 * `Idempotency-Key` kept in PostgreSQL (src/api/idempotency.ts): it answers and replays with Redis unreachable, a
 * key left pending by a request that died is taken over once its lease is past, and a request that outlived its
 * lease cannot create as well.
 */
import { useTestEnv } from '../../helpers/env';
import { wiredServices } from '../../../src/cli/commands/serve';
import { createContainer, type Container } from '../../../src/container';
import { createLogger } from '../../../src/logger';
import { PENDING_LEASE_S } from '../../../src/api/idempotency';
import type { ApiServices } from '../../../src/api/deps';
import { seedCampaign } from '../../helpers/api-fixtures';
import { waitFor } from '../../helpers/sending-fixtures';
import { TEST_API_TOKEN, closedPort, http, startApi, type RunningApi } from '../../helpers/api-server';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });

type ErrorBody = { error: { code: string; message: string } };

async function seedList(c: Container, name: string): Promise<void> {
  const list = await c.prisma.contactList.create({ data: { name, status: 'ready', accepted: 1, rows: 1, columns: ['phone'], completedAt: new Date() } });
  await c.prisma.contact.create({ data: { listId: list.id, phone: '+919876543210', rawPhone: '+919876543210', sourceLine: 2, variables: { phone: '+919876543210' } } });
}

const campaignBody = (name: string) => ({ name, list: 'idem', type: 'transactional', from: 'ACMEIN', text: 'Hi' });

describe('Idempotency-Key in PostgreSQL', () => {
  beforeAll(() => seedList(env.container(), 'idem'));

  const countNamed = async (name: string) =>
    (await env.container().pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM campaigns WHERE name = $1`, [name])).rows[0]!.n;

  it('creates once and replays with Redis unreachable (it answered 500 to every request carrying a key)', async () => {
    // A server whose Redis client points at a port nothing listens on.
    const config = { ...env.config, REDIS_URL: `redis://127.0.0.1:${await closedPort()}` };
    const container = createContainer({ config, logger: createLogger({ level: config.LOG_LEVEL }) });
    env.cleanup(() => container.close());
    const api: RunningApi = await startApi(container, wiredServices(), { dashboard: false });
    env.cleanup(() => api.close());
    const post = (key: string, json: unknown) => http('POST', `${api.url}/api/campaigns`, { json, headers: { 'idempotency-key': key } });

    const first = await post('no-redis', campaignBody('without redis'));
    const again = await post('no-redis', campaignBody('without redis'));
    expect([first.status, again.status, again.headers['idempotent-replayed']]).toEqual([201, 201, 'true']);
    expect(again.json()).toEqual(first.json());
    expect(await countNamed('without redis')).toBe(1);
    const reused = await post('no-redis', campaignBody('another'));
    expect({ status: reused.status, code: reused.json<ErrorBody>().error.code }).toEqual({ status: 409, code: 'conflict' });
    // A scheduled one too (its schedule reaches Redis when a worker next syncs from PostgreSQL).
    const cron = { ...campaignBody('scheduled without redis'), cron: '0 10 * * *' };
    const scheduled = await post('no-redis-cron', cron);
    const scheduledAgain = await post('no-redis-cron', cron);
    expect([scheduled.status, scheduledAgain.status, scheduledAgain.headers['idempotent-replayed']]).toEqual([201, 201, 'true']);
    expect(await countNamed('scheduled without redis')).toBe(1);

    const { campaignId } = await seedCampaign(container, [{ status: 'failed', outcomeClass: 'retryable' }], { status: 'paused' });
    const retry = () => http('POST', `${api.url}/api/campaigns/${campaignId}/retry`, { json: {}, headers: { 'idempotency-key': 'no-redis' } });
    const retried = await retry();
    expect([retried.status, retried.json()]).toEqual([200, { campaignId, requeued: 1, status: 'paused', archiving: 0, notRetried: { failed: 0, unknown: 0 } }]);
    const replayed = await retry();
    expect([replayed.status, replayed.headers['idempotent-replayed'], replayed.json()]).toEqual([200, 'true', retried.json()]);
  });

  it('takes over a key left pending by a request that died, once its lease is past; the dead request cannot create as well', async () => {
    const c = env.container();
    // The first request stalls inside the create (a server hung or killed there) until the test lets it go on.
    let resume!: () => void;
    const stalled = new Promise<void>((r) => (resume = r));
    let calls = 0;
    const real = wiredServices();
    const services: ApiServices = {
      ...real,
      createCampaign: async (deps, input, opts) => {
        if (++calls === 1) await stalled;
        return real.createCampaign(deps, input, opts);
      },
    };
    const api = await startApi(c, services, { dashboard: false });
    env.cleanup(() => api.close());
    const post = () => http('POST', `${api.url}/api/campaigns`, { json: campaignBody('crashed'), headers: { 'idempotency-key': 'crash-1' } });

    const original = post();
    await waitFor('the first request to claim its key', async () =>
      (await c.pg.query(`SELECT 1 FROM idempotency_keys WHERE key = 'crash-1' AND state = 'pending'`)).rowCount === 1, 10_000, 20);
    // Within the lease the key is still the first request's.
    const early = await post();
    expect({ status: early.status, message: early.json<ErrorBody>().error.message }).toEqual({
      status: 409, message: expect.stringContaining('still being processed'),
    });
    // The lease runs out (aged here rather than waited for): a retry takes the key over and creates, once.
    await c.pg.query(`UPDATE idempotency_keys SET created_at = created_at - make_interval(secs => $1) WHERE key = 'crash-1'`, [PENDING_LEASE_S + 1]);
    const takenOver = await post();
    expect(takenOver.status).toBe(201);
    expect(await countNamed('crashed')).toBe(1);
    // The first request comes back to life: its create rolls back with its claim gone (it made a second campaign).
    resume();
    const late = await original;
    expect({ status: late.status, message: late.json<ErrorBody>().error.message }).toEqual({
      status: 409, message: expect.stringContaining('took the key over'),
    });
    expect(await countNamed('crashed')).toBe(1);
    const replay = await post();
    expect([replay.status, replay.headers['idempotent-replayed'], replay.json()]).toEqual([201, 'true', takenOver.json()]);
  });

  it('frees a key after a day, and purges expired keys', async () => {
    const c = env.container();
    const api = await startApi(c, wiredServices(), { dashboard: false });
    env.cleanup(() => api.close());
    const post = (key: string) => http('POST', `${api.url}/api/campaigns`, { json: campaignBody('daily'), headers: { 'idempotency-key': key } });
    expect((await post('day-1')).status).toBe(201);
    expect((await post('old')).status).toBe(201);
    await c.pg.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key IN ('day-1', 'old')`);
    // A day later the same key is a new operation.
    const nextDay = await post('day-1');
    expect([nextDay.status, nextDay.headers['idempotent-replayed']]).toEqual([201, undefined]);
    expect(await countNamed('daily')).toBe(3);
    const { rows } = await c.pg.query<{ key: string }>(`SELECT key FROM idempotency_keys WHERE key IN ('day-1', 'old') ORDER BY key`);
    expect(rows).toEqual([{ key: 'day-1' }]);
  });
});

