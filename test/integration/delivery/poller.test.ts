import { createDlrPoller } from '../../../src/delivery/poller';
import type { DeliveryReport, SmsProvider } from '../../../src/provider/sms-provider';
import { useTestEnv } from '../../helpers/env';
import { seedSentMessages } from '../../fixtures/seed-messages';

const env = useTestEnv();

/** A fake provider answering from a script per session; each call takes the next scripted report. */
function scriptedProvider(script: Record<string, DeliveryReport[]>, budget: { granted: number }) {
  const calls: string[] = [];
  const provider: Pick<SmsProvider, 'deliveryReport'> = {
    async deliveryReport(sessionId) {
      calls.push(sessionId);
      // The budget is never exceeded: every request was preceded by a granted slot.
      if (calls.length > budget.granted) throw new Error(`request ${calls.length} without a slot (${budget.granted} granted)`);
      const queue = script[sessionId] ?? [];
      return queue.length > 1 ? queue.shift()! : (queue[0] ?? { found: false, detail: 'unknown session' });
    },
  };
  return { provider, calls };
}

const pending = (phone: string): DeliveryReport => ({ found: true, entries: [{ phone, state: 'pending', statusDesc: 'PENDING', reason: null, dltReject: false }] });
const delivered = (phone: string): DeliveryReport => ({ found: true, entries: [{ phone, state: 'delivered', statusDesc: 'DELIVERED', reason: null, statusId: '5', errorId: '0', dltReject: false }] });
const notReady: DeliveryReport = { found: false, detail: 'logStatus Invalid' };

describe('delivery report poller', () => {
  it('polls per session within the shared budget, backs off while not ready, applies results, gives up when old', async () => {
    const pg = env.container().pg;
    const t0 = new Date('2026-11-26T10:00:00Z');
    const seeded = await seedSentMessages(pg, 'poll', [
      { phone: '+919876500001', sessionId: 'S1', sentAt: t0 },
      { phone: '+919876500002', sessionId: 'S2', sentAt: t0 },
      // one packed session with two recipients
      { phone: '+919876500003', sessionId: 'S3', sentAt: t0 },
      { phone: '+919876500004', sessionId: 'S3', sentAt: t0 },
      // sent long ago: past the give-up age
      { phone: '+919876500005', sessionId: 'OLD', sentAt: new Date(t0.getTime() - 4 * 86_400_000) },
    ]);
    const budget = { granted: 0 };
    const { provider, calls } = scriptedProvider(
      {
        S1: [notReady, pending('919876500001'), delivered('919876500001')],
        S2: [{ found: true, entries: [{ phone: '919876500002', state: 'failed', statusDesc: 'UNDELIVERED', reason: 'UNDELIVERED #1', errorId: '1', dltReject: false }] }],
        S3: [{
          found: true,
          entries: [
            { phone: '919876500003', state: 'failed', statusDesc: 'DLT-CNT-REJECT', reason: 'DLT-CNT-REJECT', dltReject: true },
            { phone: '919876500004', state: 'failed', statusDesc: 'DLT-CNT-REJECT', reason: 'DLT-CNT-REJECT', dltReject: true },
          ],
        }],
        OLD: [delivered('919876500005')],
      },
      budget,
    );
    let clock = t0;
    const poller = createDlrPoller(env.container(), {
      provider,
      acquireSlot: async () => {
        budget.granted += 1;
      },
      now: () => clock,
      baseDelayMs: 1000,
      maxDelayMs: 60_000,
      maxAgeMs: 72 * 3_600_000,
    });

    expect((await poller.pollOnce()).sessions).toBe(0); // too early: first check 1 s after sending
    clock = new Date(t0.getTime() + 1000);
    expect(await poller.pollOnce()).toMatchObject({ sessions: 3, requests: 3, notFound: 1, delivered: 0, failed: 3 });
    expect(calls.sort()).toEqual(['S1', 'S2', 'S3']);
    // S1 was not ready: next check only after 2 s more (back-off), not at +1.5 s.
    clock = new Date(t0.getTime() + 2500);
    expect((await poller.pollOnce()).sessions).toBe(0);
    clock = new Date(t0.getTime() + 3000);
    expect(await poller.pollOnce()).toMatchObject({ sessions: 1, pending: 1 });
    clock = new Date(t0.getTime() + 7000);
    expect(await poller.pollOnce()).toMatchObject({ sessions: 1, delivered: 1 });
    clock = new Date(t0.getTime() + 3_600_000);
    expect((await poller.pollOnce()).sessions).toBe(0); // nothing left but the old one, which is given up
    expect(calls).not.toContain('OLD');
    expect(calls.length).toBe(budget.granted);

    const { rows } = await pg.query<{ phone: string; status: string; failure_reason: string | null; dlr_checks: number; delivered_at: Date | null }>(
      `SELECT phone, status, failure_reason, dlr_checks, delivered_at FROM messages WHERE run_id = $1 ORDER BY phone`, [seeded.runId],
    );
    expect(rows.map((r) => [r.phone, r.status, r.failure_reason])).toEqual([
      ['+919876500001', 'delivered', null],
      ['+919876500002', 'failed', 'UNDELIVERED #1'],
      ['+919876500003', 'failed', 'DLT-CNT-REJECT'],
      ['+919876500004', 'failed', 'DLT-CNT-REJECT'],
      ['+919876500005', 'sent', null],
    ]);
    expect(rows[0]!.dlr_checks).toBe(3);
    expect(rows[0]!.delivered_at).toEqual(new Date(t0.getTime() + 7000));
    const campaign = await pg.query<{ alert: string | null }>(`SELECT alert FROM campaigns WHERE id = $1`, [seeded.campaignId]);
    expect(campaign.rows[0]!.alert).toMatch(/^DLT-CNT-REJECT: operators rejected messages/);
  });

  it('with no slot to be had (Redis down), no request is made and the claimed sessions are due again at once', async () => {
    const pg = env.container().pg;
    const t0 = new Date('2026-11-26T14:00:00Z');
    const sessions = Array.from({ length: 6 }, (_, i) => ({ phone: `+9198100${String(i).padStart(5, '0')}`, sessionId: `R${i}`, sentAt: t0 }));
    await seedSentMessages(pg, 'redis-down', sessions);
    const budget = { granted: 0 };
    const { provider, calls } = scriptedProvider({}, budget);
    let redisUp = false;
    const poller = createDlrPoller(env.container(), {
      provider,
      acquireSlot: async () => {
        if (!redisUp) throw new Error('Connection is closed.');
        budget.granted += 1;
      },
      now: () => new Date(t0.getTime() + 60_000),
      baseDelayMs: 1000,
      concurrency: 2,
    });
    await expect(poller.pollOnce()).rejects.toThrow('Connection is closed.');
    expect(calls.filter((s) => s.startsWith('R'))).toEqual([]);
    // Not charged a back-off step: the very next pass (same instant) asks for every one of them.
    redisUp = true;
    expect(await poller.pollOnce()).toMatchObject({ sessions: 6, requests: 6 });
    expect(calls.filter((s) => s.startsWith('R')).sort()).toEqual(sessions.map((x) => x.sessionId).sort());
  });

  it('keeps DLR_POLL_CONCURRENCY report requests in flight', async () => {
    const pg = env.container().pg;
    const t0 = new Date('2026-11-26T16:00:00Z');
    const sessions = Array.from({ length: 24 }, (_, i) => ({ phone: `+9198200${String(i).padStart(5, '0')}`, sessionId: `C${i}`, sentAt: t0 }));
    await seedSentMessages(pg, 'concurrency', sessions);
    const inFlightPeak = async (concurrency: number): Promise<number> => {
      let inFlight = 0;
      let peak = 0;
      const provider: Pick<SmsProvider, 'deliveryReport'> = {
        async deliveryReport() {
          peak = Math.max(peak, ++inFlight);
          await new Promise((r) => setTimeout(r, 20));
          inFlight--;
          return notReady;
        },
      };
      const c = env.container();
      const poller = createDlrPoller(
        { pg: c.pg, logger: c.logger, redis: c.redis, config: { ...env.config, DLR_POLL_CONCURRENCY: concurrency } },
        { provider, acquireSlot: async () => undefined, now: () => new Date(t0.getTime() + 60_000), baseDelayMs: 1000, batchSize: 12 },
      );
      expect((await poller.pollOnce()).requests).toBe(12);
      return peak;
    };
    expect(await inFlightPeak(2)).toBe(2);
    expect(await inFlightPeak(12)).toBe(12);
  });

  it('two pollers never ask for the same session twice', async () => {
    const pg = env.container().pg;
    const t0 = new Date('2026-11-26T12:00:00Z');
    const sessions = Array.from({ length: 40 }, (_, i) => ({ phone: `+9198000${String(i).padStart(5, '0')}`, sessionId: `P${i}`, sentAt: t0 }));
    await seedSentMessages(pg, 'race', sessions);
    const budget = { granted: 0 };
    const { provider, calls } = scriptedProvider({}, budget);
    const opts = {
      provider,
      acquireSlot: async () => {
        budget.granted += 1;
        await new Promise((r) => setTimeout(r, 1));
      },
      now: () => new Date(t0.getTime() + 60_000),
      baseDelayMs: 1000,
      batchSize: 15,
    };
    const a = createDlrPoller(env.container(), opts);
    const b = createDlrPoller(env.container(), opts);
    // Concurrent rounds until nothing is due: a poller that loses a race simply claims fewer sessions.
    for (let round = 0; round < 10; round++) {
      const r = await Promise.all([a.pollOnce(), b.pollOnce(), a.pollOnce(), b.pollOnce()]);
      if (r.every((x) => x.sessions === 0)) break;
    }
    const mine = calls.filter((s) => s.startsWith('P'));
    expect(mine.length).toBe(40);
    expect(new Set(mine).size).toBe(40);
  });

  it('runs in the background until stopped', async () => {
    const pg = env.container().pg;
    const seeded = await seedSentMessages(pg, 'bg', [{ phone: '+919876511111', sessionId: 'BG1', sentAt: new Date(Date.now() - 60_000) }]);
    const budget = { granted: 0 };
    const { provider } = scriptedProvider({ BG1: [delivered('+919876511111')] }, budget);
    const poller = createDlrPoller(env.container(), { provider, acquireSlot: async () => void (budget.granted += 1), baseDelayMs: 10, idleMs: 50 });
    poller.start();
    const end = Date.now() + 5000;
    let status = 'sent';
    while (status !== 'delivered' && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      status = (await pg.query<{ status: string }>(`SELECT status FROM messages WHERE run_id = $1`, [seeded.runId])).rows[0]!.status;
    }
    await poller.stop();
    expect(status).toBe('delivered');
  });
});
