import { applyDeliveryCallback } from '../../../src/delivery/webhook';
import { ValidationError } from '../../../src/errors';
import { useTestEnv } from '../../helpers/env';
import { seedSentMessages } from '../../fixtures/seed-messages';

const env = useTestEnv();

/** The platform's callback form (reference §5, D2V format). */
const form = (sessionId: string, smsTo: string, status: string, extra: Record<string, string> = {}): Record<string, string> => ({
  SessionId: sessionId,
  SmsTo: smsTo,
  SmsStatus: status,
  StatusGroupId: '3',
  StatusId: status === 'DELIVERED' ? '5' : '8',
  StatusDescription: status === 'DELIVERED' ? 'Message delivered to handset' : 'Not delivered',
  ErrorGroupId: '0',
  ErrorGroupName: 'OK',
  ErrorId: '0',
  ErrorName: 'NO_ERROR',
  ErrorPermanent: 'false',
  ...extra,
});

async function statusOf(runId: string): Promise<Array<[string, string, string | null]>> {
  const { rows } = await env.container().pg.query<{ phone: string; status: string; failure_reason: string | null }>(
    `SELECT phone, status, failure_reason FROM messages WHERE run_id = $1 ORDER BY phone`, [runId],
  );
  return rows.map((r) => [r.phone, r.status, r.failure_reason]);
}

describe('applyDeliveryCallback', () => {
  it('marks delivered, is idempotent on repeats, and maps failures with the reason', async () => {
    const c = env.container();
    const s = await seedSentMessages(c.pg, 'push', [
      { phone: '+919876500001', sessionId: 'W1' },
      { phone: '+919876500002', sessionId: 'W2' },
      { phone: '+919876500003', sessionId: 'W3' },
    ]);
    const first = await applyDeliveryCallback(c, form('W1', '919876500001', 'DELIVERED'));
    expect(first).toEqual({ sessionId: 'W1', state: 'delivered', updated: 1, unmatched: false, dltReject: false, parked: false });
    const again = await applyDeliveryCallback(c, form('W1', '919876500001', 'DELIVERED'));
    expect(again).toMatchObject({ state: 'delivered', updated: 0, unmatched: true });
    expect(await applyDeliveryCallback(c, form('W2', '919876500002', 'PENDING'))).toMatchObject({ state: 'pending', updated: 0 });
    await applyDeliveryCallback(c, form('W2', '919876500002', 'UNDELIVERED', { ErrorId: '1', ErrorName: 'ABSENT_SUBSCRIBER', ErrorPermanent: 'true' }));
    // A late DELIVERED for a message already final does not flip it.
    expect(await applyDeliveryCallback(c, form('W2', '919876500002', 'DELIVERED'))).toMatchObject({ updated: 0 });
    expect(await statusOf(s.runId)).toEqual([
      ['+919876500001', 'delivered', null],
      ['+919876500002', 'failed', 'UNDELIVERED #1: ABSENT_SUBSCRIBER'],
      ['+919876500003', 'sent', null],
    ]);
  });

  it('DLT-CNT-REJECT fails the message and flags the campaign loudly, once', async () => {
    const c = env.container();
    const s = await seedSentMessages(c.pg, 'dlt', [
      { phone: '+919876500011', sessionId: 'D1' },
      { phone: '+919876500012', sessionId: 'D2' },
    ]);
    const errors: unknown[] = [];
    const logger = Object.assign(Object.create(c.logger) as typeof c.logger, {
      error: (...args: unknown[]) => void errors.push(args),
    });
    const deps = { pg: c.pg, logger, redis: c.redis, config: c.config };
    expect(await applyDeliveryCallback(deps, form('D1', '919876500011', 'DLT-CNT-REJECT'))).toMatchObject({ state: 'failed', dltReject: true, updated: 1 });
    await applyDeliveryCallback(deps, form('D2', '919876500012', 'DLT-CNT-REJECT'));
    await applyDeliveryCallback(deps, form('D2', '919876500012', 'DLT-CNT-REJECT'));
    expect(await statusOf(s.runId)).toEqual([
      ['+919876500011', 'failed', 'DLT-CNT-REJECT'],
      ['+919876500012', 'failed', 'DLT-CNT-REJECT'],
    ]);
    const campaign = await c.prisma.campaign.findUniqueOrThrow({ where: { id: s.campaignId } });
    expect(campaign.alert).toMatch(/^DLT-CNT-REJECT: operators rejected messages of this campaign/);
    expect(errors).toHaveLength(1);
  });

  it('a repeated report for one member of a packed session never lands on another member', async () => {
    const c = env.container();
    const s = await seedSentMessages(c.pg, 'packed-repeat', [
      { phone: '+919876500001', sessionId: 'P1' },
      { phone: '+919876500002', sessionId: 'P1' },
    ]);
    const undelivered = form('P1', '919876500001', 'UNDELIVERED', { ErrorId: '1', ErrorName: 'ABSENT', ErrorPermanent: 'true' });
    expect((await applyDeliveryCallback(c, undelivered)).updated).toBe(1);
    // The platform repeats itself: …001 is final now, …002 the session's only open message.
    expect(await applyDeliveryCallback(c, undelivered)).toMatchObject({ updated: 0, unmatched: true });
    expect((await statusOf(s.runId)).map(([phone, status]) => [phone, status])).toEqual([
      ['+919876500001', 'failed'],
      ['+919876500002', 'sent'],
    ]);
  });

  it('refuses a form without the identifying fields, and ignores unknown sessions', async () => {
    await expect(applyDeliveryCallback(env.container(), { SmsStatus: 'DELIVERED' })).rejects.toThrow(ValidationError);
    await expect(applyDeliveryCallback(env.container(), { SmsStatus: 'DELIVERED' })).rejects.toThrow(/missing field\(s\) SessionId, SmsTo/);
    expect(await applyDeliveryCallback(env.container(), form('NOPE', '919876500099', 'DELIVERED'))).toMatchObject({ updated: 0, unmatched: true });
  });
});
