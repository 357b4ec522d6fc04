/** Real worker processes: SIGKILL mid-campaign and restart; two processes sharing one account-wide limit. */
import { useTestEnv } from '../../helpers/env';
import { startStandIn, type StandIn } from '../../helpers/stand-in-provider';
import { spawnWorkerProcess, type WorkerProcess } from '../../helpers/worker-processes';
import { campaignStatus, deliveryCheck, seedCampaign, statusCounts, waitFor } from '../../helpers/sending-fixtures';
import { startCampaign } from '../../../src/sending/campaign-control';

const env = useTestEnv({ SMS_RATE_LIMIT: '400', SMS_REQUEST_TIMEOUT_MS: '1500' });

// Short leases so recovery happens within the test; batch 20 / chunk 5 / concurrency 100 → at most
// 6 jobs × 5 claimed-but-unsent messages besides the requests in flight.
const workerOpts = { concurrency: 100, batchSize: 20, chunkSize: 5, leaseMs: 4000, sendDeadlineMs: 1500, lockDurationMs: 3000, staleQueuedMs: 6000 };
const claimedNotSentBound = (Math.ceil(100 / 20) + 1) * 5;

describe('crash safety with real worker processes', () => {
  let standIn: StandIn;
  const procs: WorkerProcess[] = [];
  const spawnWorker = async () => {
    const p = await spawnWorkerProcess({ ...env.env, STANDIN_URL: standIn.url, WORKER_OPTS: JSON.stringify(workerOpts) });
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    standIn = await startStandIn({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: null, latencyMs: [20, 120] });
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await standIn.close();
  });

  it('SIGKILL mid-campaign, restart: no duplicate, no skipped recipient, unknown only for requests that may have been in flight', async () => {
    const c = env.container();
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 1500 });
    await startCampaign(c, campaignId);
    const first = await spawnWorker();
    await waitFor('some accepted', async () => phones.filter((p) => standIn.accepted().has(p)).length >= 300, 30_000, 20);
    const inFlightAtKill = standIn.stats().inFlight;
    const killedAt = performance.now();
    first.child.kill('SIGKILL');
    await first.exited;

    await spawnWorker();
    await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed', 50_000);

    const counts = await statusCounts(c.pg, campaignId);
    expect(Object.keys(counts).filter((s) => s !== 'sent' && s !== 'unknown')).toEqual([]);
    const accepted = standIn.accepted();
    const { duplicates, missing } = deliveryCheck(accepted, phones);
    expect(duplicates).toEqual([]);
    const rows = await c.pg.query<{ phone: string; status: string }>(`SELECT phone, status::text FROM messages WHERE campaign_id = $1`, [campaignId]);
    const status = new Map(rows.rows.map((r) => [r.phone, r.status]));
    // Skipped = neither sent nor in doubt. Every recipient the provider never saw is recorded as unknown.
    expect(missing.filter((p) => status.get(p) !== 'unknown')).toEqual([]);
    expect(phones.filter((p) => status.get(p) === 'sent' && !accepted.has(p))).toEqual([]);
    // "In flight" from the worker's side: requests the provider had not answered at the kill, plus answers
    // written just before it that the worker could not have made durable yet (group commit, socket buffers).
    const unknownPhones = phones.filter((p) => status.get(p) === 'unknown');
    const reached = unknownPhones.filter((p) => accepted.has(p)).length;
    expect(reached).toBeLessThanOrEqual(inFlightAtKill + standIn.answeredSince(killedAt - 250));
    expect(unknownPhones.length - reached).toBeLessThanOrEqual(claimedNotSentBound);
    const unknownReasons = await c.pg.query<{ failure_reason: string }>(
      `SELECT DISTINCT failure_reason FROM messages WHERE campaign_id = $1 AND status = 'unknown'`,
      [campaignId],
    );
    for (const r of unknownReasons.rows) expect(r.failure_reason).toMatch(/lease expired/);
  });

  it('two worker processes share one account-wide limit (max requests in any 1 s window ≤ limit)', async () => {
    const c = env.container();
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    const { campaignId, phones } = await seedCampaign(c.pg, { recipients: 1600 });
    const [a, b] = [await spawnWorker(), await spawnWorker()];
    const from = standIn.arrivals().length;
    await startCampaign(c, campaignId);
    await waitFor('campaign completed', async () => (await campaignStatus(c.pg, campaignId)) === 'completed', 50_000);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 1600 });
    expect(deliveryCheck(standIn.accepted(), phones)).toEqual({ duplicates: [], missing: [] });
    const arrivals = standIn.arrivals().slice(from);
    let max = 0;
    for (let i = 0, j = 0; i < arrivals.length; i++) {
      while (arrivals[j]! <= arrivals[i]! - 1000) j++;
      max = Math.max(max, i - j + 1);
    }
    expect(max).toBeLessThanOrEqual(400);
    expect(max).toBeGreaterThan(100);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    // Both processes sent: the budget was shared, not held by one of them.
    expect(a.stats()!.requests).toBeGreaterThan(0);
    expect(b.stats()!.requests).toBeGreaterThan(0);
  });
});
