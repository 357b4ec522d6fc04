/** Delivery reports against the provider simulator: pull (RPT/TSMS through the real client) and push (callbacks). */
import { createServer, type Server } from 'node:http';
import { createDlrPoller } from '../../../src/delivery/poller';
import { applyDeliveryCallback } from '../../../src/delivery/webhook';
import { isAccepted, type SendOutcome } from '../../../src/provider/outcome';
import type { SmsProvider } from '../../../src/provider/sms-provider';
import { createTwoFactorProvider } from '../../../src/provider/twofactor/client';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server';
import { useTestEnv } from '../../helpers/env';
import { seedSentMessages } from '../../fixtures/seed-messages';

const env = useTestEnv();
let sim: RunningSimulator;
let provider: SmsProvider;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, port: 0, rate: 50, dlrDelayMs: 200 });
  provider = createTwoFactorProvider({ baseUrl: sim.url, apiKey: env.config.TWOFACTOR_API_KEY!, timeoutMs: 5000, connections: 4, logger: env.container().logger });
});
afterAll(async () => {
  await provider.close();
  await sim.close();
});

/** Sends through the simulator and records the messages as the sending engine would (status sent + session id). */
async function sendAndRecord(name: string, phones: string[]): Promise<{ campaignId: string; runId: string }> {
  const sessions: string[] = [];
  for (const p of phones) {
    const o: SendOutcome = await provider.send({ module: 'TRANS_SMS', to: [p], from: 'TFCTOR', content: { kind: 'text', text: 'Hi' } });
    if (!isAccepted(o)) throw new Error(`simulator refused: ${o.detail}`);
    sessions.push(o.sessionId);
  }
  return seedSentMessages(env.container().pg, name, phones.map((phone, i) => ({ phone, sessionId: sessions[i]!, sentAt: new Date() })));
}

async function statuses(runId: string): Promise<string[]> {
  const { rows } = await env.container().pg.query<{ status: string }>(`SELECT status::text FROM messages WHERE run_id = $1 ORDER BY phone`, [runId]);
  return rows.map((r) => r.status);
}

it('pull: polls RPT/TSMS, waits while pending, then applies DELIVERED / FAILED / DLT-CNT-REJECT', async () => {
  sim.configure({ dltRejectRate: 0, dlrFailRate: 0, dlrDelayMs: 3000 });
  const ok = await sendAndRecord('pull-ok', ['+919876500001', '+919876500002']);
  sim.configure({ dltRejectRate: 1 });
  const dlt = await sendAndRecord('pull-dlt', ['+919876500003']);
  let slots = 0;
  const poller = createDlrPoller(env.container(), {
    provider,
    acquireSlot: async () => void (slots += 1),
    baseDelayMs: 50,
    maxDelayMs: 200,
  });
  const before = sim.stats().apiRequests;
  // Reports stay pending for 3 s: the first poll asks, finds nothing final, and backs off.
  await new Promise((r) => setTimeout(r, 100));
  expect((await poller.pollOnce()).requests).toBeGreaterThan(0);
  expect(await statuses(ok.runId)).toEqual(['sent', 'sent']);
  const end = Date.now() + 10_000;
  while ((await statuses(ok.runId)).includes('sent') || (await statuses(dlt.runId)).includes('sent')) {
    if (Date.now() > end) throw new Error('reports never applied');
    await new Promise((r) => setTimeout(r, 60));
    await poller.pollOnce();
  }
  expect(await statuses(ok.runId)).toEqual(['delivered', 'delivered']);
  expect(await statuses(dlt.runId)).toEqual(['failed']);
  const alert = await env.container().pg.query<{ alert: string }>(`SELECT alert FROM campaigns WHERE id = $1`, [dlt.campaignId]);
  expect(alert.rows[0]!.alert).toMatch(/^DLT-CNT-REJECT/);
  // Every report request the simulator saw was paid for with a slot of the shared budget.
  expect(sim.stats().apiRequests - before).toBe(slots);
});

it('push: the simulator callbacks mark messages, repeats change nothing', async () => {
  const bodies: Record<string, string>[] = [];
  let applied = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(body));
      bodies.push(form);
      applyDeliveryCallback(env.container(), form)
        .then(
          () => res.end('ok'),
          () => ((res.statusCode = 400), res.end()),
        )
        .finally(() => (applied += 1));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    // Reports become final 1.5 s after sending, after the messages are recorded as sent.
    sim.configure({ dltRejectRate: 0, dlrFailRate: 0.5, dlrDelayMs: 1500, callbackUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}/webhooks/dlr/x` });
    const phones = Array.from({ length: 6 }, (_, i) => `+91987650010${i}`);
    const run = await sendAndRecord('push', phones);
    const end = Date.now() + 10_000;
    while (applied < phones.length && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const want = bodies.map((b) => (b.SmsStatus === 'DELIVERED' ? 'delivered' : 'failed'));
    const byPhone = new Map(bodies.map((b, i) => [b.SmsTo!.replace(/\D/g, '').slice(-10), want[i]!]));
    const expected = phones.map((p) => byPhone.get(p.slice(-10)));
    expect(await statuses(run.runId)).toEqual(expected);
    // The same callbacks again: nothing changes.
    for (const b of bodies) expect((await applyDeliveryCallback(env.container(), b)).updated).toBe(0);
    expect(await statuses(run.runId)).toEqual(expected);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
