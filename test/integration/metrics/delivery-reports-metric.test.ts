/**
 * bulksms_delivery_reports_total counts the messages a delivery report made final, as the database's conditional
 * write decides, whichever way the report came (pushed to the webhook over HTTP, parked until its session was
 * recorded, polled from the simulator's RPT/TSMS): with it the metrics add up to the database's counts after the
 * reports too (`sent` = outcomes{sent} − reports; `delivered` = reports{delivered}).
 */
import { applyParkedReports } from '../../../src/delivery/early-reports';
import { applyDeliveryCallback } from '../../../src/delivery/webhook';
import { createDlrPoller } from '../../../src/delivery/poller';
import { writeOutcomes } from '../../../src/sending/ledger';
import { metricsRegistry } from '../../../src/metrics';
import { startApi, http, TEST_WEBHOOK_SECRET } from '../../helpers/api-server';
import { stubServices } from '../../helpers/api-services';
import { useTestEnv } from '../../helpers/env';
import { claimTokenOf, statusCounts } from '../../helpers/sending-fixtures';
import { startTestSimulator } from '../../helpers/sending-simulator';
import { seedSentMessages } from '../../fixtures/seed-messages';

const env = useTestEnv({ WEBHOOK_SECRET: TEST_WEBHOOK_SECRET });

async function reportCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metricsRegistry.getSingleMetric('bulksms_delivery_reports_total')?.get())?.values ?? []) {
    out[String(v.labels.status)] = v.value;
  }
  return out;
}

const form = (sessionId: string, smsTo: string, status: string): Record<string, string> => ({
  SessionId: sessionId,
  SmsTo: smsTo,
  SmsStatus: status,
  ErrorId: status === 'DELIVERED' ? '0' : '27',
  ErrorName: status === 'DELIVERED' ? 'NO_ERROR' : 'EC_ABSENT_SUBSCRIBER',
  ErrorPermanent: 'false',
});

it('counts each message a report made final once, pushed, parked or polled; repeats and late contradictions count nothing', async () => {
  const c = env.container();
  const api = await startApi(c, { ...stubServices(), applyDeliveryCallback });
  const sim = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: null, dlrDelayMs: 0 });
  try {
    const provider = sim.provider();
    const polled = await provider.send({ module: 'TRANS_SMS', to: ['+919876540005'], from: 'TFCTOR', content: { kind: 'text', text: 'hi' } });
    if (polled.kind !== 'accepted') throw new Error(`send not accepted: ${polled.kind}`);
    const s = await seedSentMessages(c.pg, 'report-metric', [
      { phone: '+919876540001', sessionId: 'M1' },
      { phone: '+919876540002', sessionId: 'M2' },
      { phone: '+919876540003', sessionId: 'M3' },
      { phone: '+919876540004', sessionId: 'x', status: 'sending' },
      { phone: '+919876540005', sessionId: polled.sessionId, sentAt: new Date(Date.now() - 60_000) },
    ]);
    const early = s.ids.get('+919876540004')!;
    await c.pg.query(`UPDATE messages SET session_id = NULL, sent_at = NULL, attempts = 1, sending_at = now() WHERE id = $1`, [early]);
    const before = await reportCounts();
    const post = (fields: Record<string, string>) =>
      http('POST', `${api.url}/webhooks/dlr/${TEST_WEBHOOK_SECRET}`, {
        token: null,
        body: new URLSearchParams(fields).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });

    for (const fields of [
      form('M1', '919876540001', 'DELIVERED'),
      form('M1', '919876540001', 'DELIVERED'), // a repeat
      form('M2', '919876540002', 'UNDELIVERED'),
      form('M2', '919876540002', 'DELIVERED'), // contradicts a final report: changes nothing
      form('M3', '919876540003', 'PENDING'), // not final
      form('EARLY', '919876540004', 'DELIVERED'), // before its send outcome: parked
    ]) {
      expect((await post(fields)).status).toBe(200);
    }
    // The send outcome lands; the parked report is applied with it (the worker's hook does the same).
    await writeOutcomes(c.pg, [{ id: early, attempts: 1, claimedAt: await claimTokenOf(c.pg, early), status: 'sent', sessionId: 'EARLY' }]);
    await applyParkedReports(c, ['EARLY']);
    // The last one is polled from the simulator's RPT/TSMS.
    const poller = createDlrPoller(c, { provider, acquireSlot: async () => undefined, baseDelayMs: 1000 });
    expect(await poller.pollOnce()).toMatchObject({ delivered: 1 });

    const after = await reportCounts();
    expect({ delivered: after.delivered! - (before.delivered ?? 0), failed: after.failed! - (before.failed ?? 0) }).toEqual({ delivered: 3, failed: 1 });
    expect(await statusCounts(c.pg, s.campaignId)).toEqual({ delivered: 3, failed: 1, sent: 1 });
  } finally {
    await sim.close();
    await api.close();
  }
}, 60_000);
