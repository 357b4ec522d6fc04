/**
 * The delivery-report poller against a provider that fails every report request (the simulator answering
 * `Invalid API Key` over real HTTP): polling pauses with a growing back-off instead of asking every due session at
 * each of its own back-off steps, and resumes once the provider answers again.
 */
import { createDlrPoller } from '../../../src/delivery/poller';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator } from '../../helpers/sending-simulator';
import { seedSentMessages } from '../../fixtures/seed-messages';
import { statusCounts, waitFor } from '../../helpers/sending-fixtures';

const env = useTestEnv();

it('pauses polling while every report request fails, a few requests per pause, and resumes when the provider answers', async () => {
  const c = env.container();
  const sim = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: null, dlrDelayMs: 0 });
  try {
    const provider = sim.provider();
    // 120 messages the simulator accepted, one session each (their reports say DELIVERED).
    const sent: Array<{ phone: string; sessionId: string; sentAt: Date }> = [];
    for (let i = 0; i < 120; i++) {
      const phone = `+91987654${String(i).padStart(4, '0')}`;
      const outcome = await provider.send({ module: 'TRANS_SMS', to: [phone], from: 'TFCTOR', content: { kind: 'text', text: 'hi' } });
      if (outcome.kind !== 'accepted') throw new Error(`send not accepted: ${outcome.kind}`);
      sent.push({ phone, sessionId: outcome.sessionId, sentAt: new Date(Date.now() - 60_000) });
    }
    const { campaignId } = await seedSentMessages(c.pg, 'failing-provider', sent);
    // From now on the provider refuses every request.
    sim.sim.configure({ invalidKeyFromRequest: 1 });
    const before = sim.sim.stats().apiRequests;

    const poller = createDlrPoller(c, {
      provider,
      acquireSlot: async () => undefined,
      concurrency: 4,
      idleMs: 50,
      baseDelayMs: 200,
      maxDelayMs: 400,
    });
    poller.start();
    try {
      await new Promise((r) => setTimeout(r, 2_000));
      const asked = sim.sim.stats().apiRequests - before;
      // Each pause (100, 200, 400, 800 ms, ...) costs a pass of 8 failing requests (2 x concurrency) and a few already
      // in flight. Before, every due session was asked at each of its own steps (200, 400 ms): ~600 requests.
      expect(asked).toBeGreaterThan(0);
      expect(asked).toBeLessThan(120);
      expect(await statusCounts(c.pg, campaignId)).toEqual({ sent: 120 });

      // However many lanes: with more in flight than a pass holds, a pass whose every request failed still counts.
      const wide = createDlrPoller(c, { provider, acquireSlot: async () => undefined, concurrency: 200, batchSize: 20, baseDelayMs: 0 });
      expect(await wide.pollOnce()).toMatchObject({ requests: 20, errors: 20, providerFailing: true });

      // The provider answers again: polling resumes after the current pause and every report is applied.
      sim.sim.configure({ invalidKeyFromRequest: null });
      await waitFor('all delivered', async () => (await statusCounts(c.pg, campaignId)).delivered === 120, 15_000);
    } finally {
      await poller.stop();
    }
  } finally {
    await sim.close();
  }
}, 60_000);
