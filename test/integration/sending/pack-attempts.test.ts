/**
 * A pack can hold a message on its last attempt beside fresh ones (the feeder takes due retries and new messages in
 * id order, and packing only looks at the text): each one's own attempts decide whether it gives up.
 */
import { freePort } from '../../../scripts/lib/free-port';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign } from '../../helpers/sending-fixtures';
import { startCampaign } from '../../../src/sending/campaign-control';
import { createBatchSender } from '../../../src/sending/batch-sender';
import { createCampaignStates } from '../../../src/sending/campaign-states';
import { OutcomeWriter } from '../../../src/sending/ledger';
import { instantPacer } from '../../helpers/instant-pacer';
import { createTwoFactorProvider } from '../../../src/provider/twofactor/client';
import { createLogger } from '../../../src/logger';

const env = useTestEnv();

/** A port nobody listens on: every send is refused before it is written (retryable, certainly not sent). */
const refusedUrl = async (): Promise<string> => `http://127.0.0.1:${await freePort()}`;

it('a retryable answer to a pack fails only the messages on their last attempt and retries the others', async () => {
  const c = env.container();
  const { campaignId } = await seedCampaign(c.pg, { recipients: 4, text: 'same text', packSize: 2 });
  await startCampaign(c, campaignId);
  // Attempts already made: the packs are [limit, fresh] and [fresh, limit] (the claim adds this attempt).
  const { rows } = await c.pg.query<{ id: string; run_id: string }>(
    `UPDATE messages m SET status = 'queued', queued_at = now(), attempts = x.made
       FROM (SELECT id, (ARRAY[4, 0, 0, 4])[row_number() OVER (ORDER BY id)] AS made FROM messages WHERE campaign_id = $1) x
      WHERE m.id = x.id
     RETURNING m.id::text, m.run_id::text`,
    [campaignId],
  );
  const ids = rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b));
  const pacer = instantPacer();
  const provider = createTwoFactorProvider({ baseUrl: await refusedUrl(), apiKey: 'k', timeoutMs: 2_000, connections: 2, logger: createLogger({ level: 'silent' }) });
  const states = await createCampaignStates(c.pg, null, 'unused');
  try {
    const sender = createBatchSender(
      { pg: c.pg, provider, pacer, writer: new OutcomeWriter(c.pg), states, logger: c.logger, pause: async () => undefined, closing: () => false },
      { chunkSize: 10, maxAttempts: 5, lateToleranceMs: 6, sendDeadlineMs: 5000, throttlePenaltyMs: 100 },
    );
    await sender.processBatch({ campaignId, runId: rows[0]!.run_id, ids });
    const after = await c.pg.query<{ id: string; status: string; attempts: number; failure_reason: string }>(
      `SELECT id::text, status::text, attempts, failure_reason FROM messages WHERE campaign_id = $1 ORDER BY id`,
      [campaignId],
    );
    expect(after.rows.map((r) => [r.status, r.attempts])).toEqual([
      ['failed', 5],
      ['pending', 1],
      ['pending', 1],
      ['failed', 5],
    ]);
    expect(after.rows[0]!.failure_reason).toMatch(/^gave up after 5 attempts: not sent: .*ECONNREFUSED/);
    expect(after.rows[1]!.failure_reason).toMatch(/^will retry: not sent: /);
  } finally {
    await provider.close();
    await states.close();
  }
});
