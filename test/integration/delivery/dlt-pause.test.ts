import { applyDeliveryCallback } from '../../../src/delivery/webhook';
import { DLT_PAUSED_ALERT } from '../../../src/delivery/dlt-guard';
import { resumeCampaign } from '../../../src/sending/campaign-control';
import { useTestEnv } from '../../helpers/env';
import { seedSentMessages } from '../../fixtures/seed-messages';

const env = useTestEnv();

const report = (sessionId: string, phone: string, status: string): Record<string, string> => ({
  SessionId: sessionId,
  SmsTo: phone.replace('+', ''),
  SmsStatus: status,
  ErrorId: status === 'DELIVERED' ? '0' : '4096',
  ErrorPermanent: status === 'DELIVERED' ? 'false' : 'true',
});

async function seed(name: string, n: number) {
  const phones = Array.from({ length: n }, (_, i) => `+9198765${String(i).padStart(5, '0')}`);
  const s = await seedSentMessages(env.container().pg, name, phones.map((phone, i) => ({ phone, sessionId: `${name}-${i}` })));
  return { ...s, phones };
}

async function campaignState(id: string) {
  const { rows } = await env.container().pg.query<{ status: string; pause_reason: string | null; alert: string | null; run_status: string }>(
    `SELECT c.status::text AS status, c.pause_reason, c.alert, r.status::text AS run_status
       FROM campaigns c JOIN campaign_runs r ON r.campaign_id = c.id WHERE c.id = $1`,
    [id],
  );
  return rows[0]!;
}

describe('a campaign the operators reject for DLT is paused', () => {
  it('pauses once most reports are DLT rejections, with the count in the reason; after a resume it only alerts', async () => {
    const c = env.container();
    const s = await seed('dlt-pause', 40);
    for (let i = 0; i < 19; i++) await applyDeliveryCallback(c, report(`dlt-pause-${i}`, s.phones[i]!, 'DLT-CNT-REJECT'));
    expect(await campaignState(s.campaignId)).toMatchObject({ status: 'running', alert: expect.stringMatching(/^DLT-CNT-REJECT: operators rejected messages/) });

    // A campaign is judged again 0.1 ms per message counted after its last judgement (4 ms for these 40).
    await new Promise((r) => setTimeout(r, 20));
    const twentieth = await applyDeliveryCallback(c, report('dlt-pause-19', s.phones[19]!, 'DLT-CNT-REJECT'));
    expect(twentieth).toMatchObject({ state: 'failed', dltReject: true, updated: 1 });
    const paused = await campaignState(s.campaignId);
    expect(paused).toMatchObject({ status: 'paused', run_status: 'paused' });
    expect(paused.pause_reason).toMatch(/^DLT-CNT-REJECT: operators rejected 20 of 40 messages sent so far/);
    expect(paused.alert!.startsWith(DLT_PAUSED_ALERT)).toBe(true);

    // The operator resumes (registration fixed): later rejections are applied and alert, but do not pause again.
    await resumeCampaign(c, s.campaignId);
    for (let i = 20; i < 30; i++) await applyDeliveryCallback(c, report(`dlt-pause-${i}`, s.phones[i]!, 'DLT-CNT-REJECT'));
    expect(await campaignState(s.campaignId)).toMatchObject({ status: 'running', run_status: 'running' });
    const { rows } = await c.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE run_id = $1 AND status = 'failed'`, [s.runId]);
    expect(rows[0]!.n).toBe(30);
  });

  it('a pause that fails takes its mark back: a later rejection pauses the campaign', async () => {
    const c = env.container();
    const s = await seed('dlt-fail', 30);
    // PostgreSQL refuses the pause's run update once (as a failover or a lost connection would fail it).
    // A sequence, not a table: the refusal rolls back everything the transaction wrote, but not nextval().
    await c.pg.query(`CREATE SEQUENCE dlt_fail_once`);
    await c.pg.query(`CREATE FUNCTION dlt_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status = 'paused' AND nextval('dlt_fail_once') = 1 THEN
          RAISE EXCEPTION 'pause refused for the test';
        END IF;
        RETURN NEW;
      END $$`);
    await c.pg.query(`CREATE TRIGGER dlt_fail_once BEFORE UPDATE ON campaign_runs FOR EACH ROW EXECUTE FUNCTION dlt_fail_once()`);
    try {
      for (let i = 0; i < 19; i++) await applyDeliveryCallback(c, report(`dlt-fail-${i}`, s.phones[i]!, 'DLT-CNT-REJECT'));
      // A campaign is judged again 0.1 ms per message counted after its last judgement: the 20th is judged.
      await new Promise((r) => setTimeout(r, 20));
      expect(await applyDeliveryCallback(c, report('dlt-fail-19', s.phones[19]!, 'DLT-CNT-REJECT'))).toMatchObject({ updated: 1 });
      expect(Number((await c.pg.query<{ v: string }>(`SELECT last_value AS v FROM dlt_fail_once`)).rows[0]!.v)).toBe(1); // the pause was tried
      // The reports were applied; the pause was not, and the alert does not claim it.
      const failed = await campaignState(s.campaignId);
      expect(failed).toMatchObject({ status: 'running', run_status: 'running' });
      expect(failed.alert).toMatch(/^DLT-CNT-REJECT: operators rejected messages/);
      // The next rejection pauses it.
      await new Promise((r) => setTimeout(r, 20));
      await applyDeliveryCallback(c, report('dlt-fail-20', s.phones[20]!, 'DLT-CNT-REJECT'));
      const paused = await campaignState(s.campaignId);
      expect(paused).toMatchObject({ status: 'paused', run_status: 'paused' });
      expect(paused.alert!.startsWith(DLT_PAUSED_ALERT)).toBe(true);
    } finally {
      await c.pg.query(`DROP TRIGGER dlt_fail_once ON campaign_runs`);
      await c.pg.query(`DROP FUNCTION dlt_fail_once()`);
      await c.pg.query(`DROP SEQUENCE dlt_fail_once`);
    }
  });

  it('does not pause when rejections are a minority of what went out, even when they are the first reports in', async () => {
    // Operators' DLT scrubbing answers at once, handsets' DELIVRD later: the rejections arrive first.
    const c = env.container();
    const s = await seed('dlt-early', 70);
    for (let i = 45; i < 70; i++) await applyDeliveryCallback(c, report(`dlt-early-${i}`, s.phones[i]!, 'DLT-CNT-REJECT'));
    expect(await campaignState(s.campaignId)).toMatchObject({ status: 'running', alert: expect.stringMatching(/^DLT-CNT-REJECT/) });
  });

  it('does not pause when most reports are delivered (single recipients rejected, not the registration)', async () => {
    const c = env.container();
    const s = await seed('dlt-sparse', 70);
    for (let i = 0; i < 45; i++) await applyDeliveryCallback(c, report(`dlt-sparse-${i}`, s.phones[i]!, 'DELIVERED'));
    for (let i = 45; i < 70; i++) await applyDeliveryCallback(c, report(`dlt-sparse-${i}`, s.phones[i]!, 'DLT-CNT-REJECT'));
    // 25 rejections of 70 reports: alerted, still running.
    expect(await campaignState(s.campaignId)).toMatchObject({ status: 'running', alert: expect.stringMatching(/^DLT-CNT-REJECT/) });
  });
});
