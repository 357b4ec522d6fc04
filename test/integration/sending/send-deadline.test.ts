/**
 * A claimed request is sent only while its campaign runs and its claim is younger than the send deadline, which
 * exists so that the recovery lease (counted from the claim's sending_at, PostgreSQL's time at the claim
 * statement's start) never expires under a live request.
 *
 * - It is judged when its slot comes, and again once admitted into the account-wide window: the admission can
 *   wait (a full window after a burst, the paused window after Redis lost its log, a slow Redis), and judged only
 *   before, a cancel or pause made meanwhile still let it go, and so did a claim grown past the deadline.
 * - Its age counts from before the claim statement was sent: counted from its answer, a claim that took long (row
 *   locks, an overloaded server) was that much older on the lease's clock than the sender believed.
 */
import { Client } from 'pg';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign, statusCounts } from '../../helpers/sending-fixtures';
import { cancelCampaign, pauseCampaign, startCampaign, type ControlDeps } from '../../../src/sending/campaign-control';
import { createBatchSender } from '../../../src/sending/batch-sender';
import { createCampaignStates } from '../../../src/sending/campaign-states';
import { OutcomeWriter } from '../../../src/sending/ledger';
import { instantPacer } from '../../helpers/instant-pacer';
import type { SmsProvider } from '../../../src/provider/sms-provider';
import type { SendJobData } from '../../../src/sending/keys';

const env = useTestEnv();

/** A started campaign of two messages, queued as the feeder leaves them, and the job that carries them. */
async function queuedCampaign(): Promise<{ campaignId: string; job: SendJobData }> {
  const c = env.container();
  const { campaignId } = await seedCampaign(c.pg, { recipients: 2 });
  await startCampaign(c, campaignId);
  const { rows } = await c.pg.query<{ id: string; run_id: string }>(
    `UPDATE messages SET status = 'queued', queued_at = now() WHERE campaign_id = $1 RETURNING id::text, run_id::text`,
    [campaignId],
  );
  return { campaignId, job: { campaignId, runId: rows[0]!.run_id, ids: rows.map((r) => r.id) } };
}

/** Runs one job with slots at once, admissions that take `admissionMs`, and a provider accepting everything. */
async function runJob(job: SendJobData, opts: { sendDeadlineMs: number; admissionMs: number }, meanwhile: () => Promise<unknown>): Promise<number> {
  const c = env.container();
  let sent = 0;
  const provider = {
    send: async () => {
      sent++;
      return { kind: 'accepted', sessionId: `S${sent}` };
    },
  } as unknown as SmsProvider;
  const pacer = instantPacer(async () => {
    const askedAt = performance.now();
    await new Promise((r) => setTimeout(r, opts.admissionMs));
    return { waitedMs: opts.admissionMs, askedAt, member: String(askedAt) };
  });
  const states = await createCampaignStates(c.pg, null, 'unused', 50);
  try {
    const sender = createBatchSender(
      { pg: c.pg, provider, pacer, writer: new OutcomeWriter(c.pg), states, logger: c.logger, pause: async () => undefined, closing: () => false },
      { chunkSize: 10, maxAttempts: 5, lateToleranceMs: 6, sendDeadlineMs: opts.sendDeadlineMs, throttlePenaltyMs: 100 },
    );
    const processing = sender.processBatch(job);
    await meanwhile();
    await processing;
    return sent;
  } finally {
    await states.close();
  }
}

it.each([
  ['cancelled', 5_000, (c: ControlDeps, id: string) => cancelCampaign(c, id), { cancelled: 2 }],
  ['paused', 5_000, (c: ControlDeps, id: string) => pauseCampaign(c, id, 'operator'), { pending: 2 }],
  ['left running, its claim past the send deadline', 300, async () => undefined, { pending: 2 }],
])('a request admitted after its campaign was %s is handed back unsent', async (_when, sendDeadlineMs, change, expected) => {
  const c = env.container();
  const { campaignId, job } = await queuedCampaign();
  const sent = await runJob(job, { sendDeadlineMs, admissionMs: 800 }, async () => {
    await new Promise((r) => setTimeout(r, 100)); // claimed, slots reached, waiting for admission
    expect(await statusCounts(c.pg, campaignId)).toEqual({ sending: 2 });
    await change(c, campaignId);
  });
  expect(sent).toBe(0);
  expect(await statusCounts(c.pg, campaignId)).toEqual(expected);
});

it('a claim that took longer than the send deadline is handed back unsent', async () => {
  const c = env.container();
  const { campaignId, job } = await queuedCampaign();
  // A row lock held while the claim statement runs: the claim waits for it, its sending_at is from before.
  const locker = new Client({ connectionString: env.config.DATABASE_URL });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query(`SELECT id FROM messages WHERE id = $1 FOR UPDATE`, [job.ids[0]]);
    const sent = await runJob(job, { sendDeadlineMs: 500, admissionMs: 0 }, async () => {
      await new Promise((r) => setTimeout(r, 800));
      await locker.query('COMMIT');
    });
    expect(sent).toBe(0);
    expect(await statusCounts(c.pg, campaignId)).toEqual({ pending: 2 });
  } finally {
    await locker.query('ROLLBACK').catch(() => undefined);
    await locker.end();
  }
});
