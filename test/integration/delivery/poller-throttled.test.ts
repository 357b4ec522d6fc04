/**
 * A delivery-report poll the provider throttles (HTTP 429, over real HTTP from the simulator, whose account limit
 * counts report requests too) slows the account-wide pacer in Redis as a throttled send does, and is no back-off
 * step of its session: the session is given back, due again, instead of waiting out a step it was never answered in.
 */
import { createDlrPoller } from '../../../src/delivery/poller';
import { accountSlots } from '../../../src/delivery/paced-slot';
import { sendingKeys } from '../../../src/sending/keys';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator } from '../../helpers/sending-simulator';
import { seedSentMessages } from '../../fixtures/seed-messages';

const env = useTestEnv();

it('a 429 on a report request penalises the shared pacer and leaves the session due, not a step further back', async () => {
  const c = env.container();
  const sim = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: null, rateScope: 'all', dlrDelayMs: 0 });
  try {
    const provider = sim.provider();
    const sent: Array<{ phone: string; sessionId: string; sentAt: Date }> = [];
    for (let i = 0; i < 6; i++) {
      const phone = `+91987655${String(i).padStart(4, '0')}`;
      const outcome = await provider.send({ module: 'TRANS_SMS', to: [phone], from: 'TFCTOR', content: { kind: 'text', text: 'hi' } });
      if (outcome.kind !== 'accepted') throw new Error(`send not accepted: ${outcome.kind}`);
      sent.push({ phone, sessionId: outcome.sessionId, sentAt: new Date(Date.now() - 60_000) });
    }
    const { runId } = await seedSentMessages(c.pg, 'throttled-polls', sent);
    // The provider's account limit is 2 requests a second; our pacer (SMS_RATE_LIMIT 200) lets six go at once.
    sim.sim.configure({ rate: 2 });

    const poller = createDlrPoller(c, { provider, acquireSlot: accountSlots(c), concurrency: 1, baseDelayMs: 1_000, maxDelayMs: 60_000 });
    const summary = await poller.pollOnce();
    expect(summary).toMatchObject({ sessions: 6, requests: 6, delivered: 2, throttled: 4, errors: 0, providerFailing: false });

    // The pacer was told, as the senders tell it on a throttled send (PENALISE stamps the throttle in its hash).
    const pacer = await c.redis.hgetall(sendingKeys(env.config.QUEUE_PREFIX).pacer);
    expect(Number(pacer.heat)).toBeGreaterThan(0);
    expect(Number(pacer.pt)).toBeGreaterThan(0);

    // Answered sessions took their step; throttled ones were given back, due again at once.
    const { rows } = await c.pg.query<{ status: string; dlr_checks: number; checked: boolean }>(
      `SELECT status, dlr_checks, dlr_checked_at IS NOT NULL AS checked FROM messages WHERE run_id = $1 ORDER BY status::text, phone`,
      [runId],
    );
    expect(rows.map((r) => [r.status, r.dlr_checks, r.checked])).toEqual([
      ['delivered', 1, true],
      ['delivered', 1, true],
      ['sent', 0, false],
      ['sent', 0, false],
      ['sent', 0, false],
      ['sent', 0, false],
    ]);
  } finally {
    await sim.close();
  }
}, 60_000);
