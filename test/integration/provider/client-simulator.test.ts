/** The 2Factor client against the simulator over real HTTP: every endpoint and every outcome class. */
import { loadConfig } from '../../../src/config';
import { createTwoFactorProvider, createTwoFactorProviderFromConfig, type TwoFactorClient } from '../../../src/provider/twofactor/client';
import { TwoFactorError } from '../../../src/provider/twofactor/errors';
import type { SendRequest } from '../../../src/provider/sms-provider';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server';
import { captureLogger } from '../../helpers/provider';

const KEY = 'sim-key-7d1e0c2a-4b5f-4c3d-9e8f-0a1b2c3d4e5f';
const A = '+919876543210';
const B = '+918765432109';
const text = (body: string, to: string[] = [A]): SendRequest => ({ module: 'TRANS_SMS', to, from: 'ACMEIN', content: { kind: 'text', text: body } });

let sim: RunningSimulator;
let client: TwoFactorClient;
const log = captureLogger();

const clientFor = (apiKey: string, timeoutMs = 2_000): TwoFactorClient =>
  createTwoFactorProvider({ baseUrl: sim.url, apiKey, timeoutMs, connections: 8, logger: log.logger });

beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, rate: null });
  client = clientFor(KEY);
});
afterAll(async () => {
  await client.close();
  await sim.close();
  expect(log.text()).not.toContain(KEY);
});
beforeEach(async () => {
  sim.configure({ rate: null, balance: null, failRate: 0, hangRate: 0, faultAfterAccept: 0, faultKind: 'http_502', refusals: {}, senders: null, templates: null, invalidKeyFromRequest: null, dlrDelayMs: 0, dlrFailRate: 0, dltRejectRate: 0 });
  await fetch(`${sim.url}/__reset`, { method: 'POST' });
});

describe('send', () => {
  it('accepts a multi-recipient text and counts recipients and duplicates', async () => {
    const out = await client.send(text('Order 42 shipped', [A, B]));
    expect(out).toEqual({ kind: 'accepted', sessionId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    await client.send(text('Order 42 shipped', [A]));
    await client.send(text('Order 43 shipped', [A]));
    expect(sim.stats()).toMatchObject({ requests: 3, accepted: 3, acceptedRecipients: 4, duplicates: 1 });
  });

  it('reports the moment the request is written, once, before the answer (the pacer judges lateness there)', async () => {
    const fresh = clientFor(KEY); // no connection yet: the write follows the connect
    try {
      const events: string[] = [];
      const answer = fresh.send(text('Order 44 shipped', [A]), undefined, () => events.push('write'));
      expect(events).toEqual([]); // not written synchronously: the connection is still being opened
      await answer.then(() => events.push('answer'));
      expect(events).toEqual(['write', 'answer']);
    } finally {
      await fresh.close();
    }
  });

  it('accepts a template send and renders its variables into the report', async () => {
    sim.configure({ templates: { ORDER: 'Hi {#var#}, order {#var#} shipped' } });
    const out = await client.send({ module: 'PROMO_SMS', to: [A], from: 'ACMEIN', content: { kind: 'template', name: 'ORDER', vars: ['Asha', '42'] } });
    expect(out.kind).toBe('accepted');
    const unknown = await client.send({ module: 'TRANS_SMS', to: [A], from: 'ACMEIN', content: { kind: 'template', name: 'NOPE', vars: [] } });
    expect(unknown).toMatchObject({ kind: 'permanent_campaign', detail: 'Invalid Template', httpStatus: 200 });
  });

  it('invalid number → permanent_recipient', async () => {
    const out = await client.send(text('x', ['+9112345']));
    expect(out).toEqual({ kind: 'permanent_recipient', detail: 'Invalid Phone Number - Length Mismatch(Expected: 10)', httpStatus: 200 });
  });

  it('a refused number: any request naming it gets its text, the others go through', async () => {
    sim.configure({ refusals: { [B.slice(1)]: 'Number is in DND' } });
    expect(await client.send(text('x', [A, B]))).toMatchObject({ detail: 'Number is in DND', httpStatus: 200 });
    expect((await client.send(text('x', [A]))).kind).toBe('accepted');
    expect(sim.stats()).toMatchObject({ acceptedRecipients: 1, errors: { refused_number: 1 } });
  });

  it('unapproved sender → permanent_campaign', async () => {
    sim.configure({ senders: ['OTHERS'] });
    const out = await client.send(text('x'));
    expect(out).toMatchObject({ kind: 'permanent_campaign', detail: "Access Denied - Sender Id 'ACMEIN' not approved" });
  });

  it('wrong key, invalid key from the Nth request, and an exhausted balance → account_fatal', async () => {
    const other = clientFor('some-other-key-123456');
    expect(await other.send(text('x'))).toMatchObject({ kind: 'account_fatal', detail: 'Invalid API Key - No Account Exists' });
    await other.close();

    sim.configure({ invalidKeyFromRequest: 3 });
    await fetch(`${sim.url}/__reset`, { method: 'POST' });
    expect((await client.send(text('1'))).kind).toBe('accepted');
    expect((await client.send(text('2'))).kind).toBe('accepted');
    expect(await client.send(text('3'))).toMatchObject({ kind: 'account_fatal', detail: 'Invalid API Key - No Account Exists' });
    sim.configure({ invalidKeyFromRequest: null });

    sim.configure({ balance: 3 });
    expect((await client.send(text('a', [A, B]))).kind).toBe('accepted');
    expect(await client.send(text('b', [A, B]))).toMatchObject({ kind: 'account_fatal', detail: 'Access Denied - Balance is too low' });
    expect((await client.send(text('c', [A]))).kind).toBe('accepted');
    expect(sim.stats().balance).toBe(0);

    // A credit per segment per recipient (as the campaign's credit estimate counts): 161 GSM characters are 2.
    sim.configure({ balance: 3 });
    expect(await client.send(text('x'.repeat(161), [A, B]))).toMatchObject({ kind: 'account_fatal', detail: 'Access Denied - Balance is too low' });
    expect((await client.send(text('x'.repeat(161), [A]))).kind).toBe('accepted');
    expect(sim.stats().balance).toBe(1);
  });

  it('429 over the rate → retryable, throttled, with Retry-After', async () => {
    sim.configure({ rate: 2 });
    const outs = await Promise.all([1, 2, 3].map((i) => client.send(text(`r${i}`))));
    expect(outs.filter((o) => o.kind === 'accepted')).toHaveLength(2);
    expect(outs.find((o) => o.kind !== 'accepted')).toEqual({ kind: 'retryable', throttled: true, detail: 'Too Many Requests', httpStatus: 429, retryAfterMs: 1000 });
    expect(sim.stats().throttled).toBe(1);
  });

  it('502 → ambiguous; a hang → ambiguous after the client timeout', async () => {
    sim.configure({ failRate: 1 });
    expect(await client.send(text('x'))).toMatchObject({ kind: 'ambiguous', httpStatus: 502 });
    sim.configure({ failRate: 0, hangRate: 1 });
    const quick = clientFor(KEY, 200);
    expect(await quick.send(text('x'))).toMatchObject({ kind: 'ambiguous', detail: expect.stringContaining('timed out after the request was sent') });
    await quick.close();
    expect(sim.stats().errors).toMatchObject({ http_502: 1, hang: 1 });
  });

  it.each([
    ['http_502', 502],
    ['http_500_error', 500],
    ['empty_200', 200],
    ['truncated_200', 200],
    ['reset', undefined],
  ] as const)('a %s fault is ambiguous whether it struck before or after the SMS was accepted', async (faultKind, httpStatus) => {
    sim.configure({ failRate: 1, faultKind });
    for (const faultAfterAccept of [0, 1]) {
      sim.configure({ faultAfterAccept });
      const before = sim.stats().acceptedRecipients;
      const out = await client.send(text(`fault ${faultKind} ${faultAfterAccept}`));
      expect(out).toMatchObject({ kind: 'ambiguous' });
      expect(out.kind !== 'accepted' && out.httpStatus).toBe(httpStatus);
      // The client cannot tell the two apart; the simulator knows which one went out.
      expect(sim.stats().acceptedRecipients - before).toBe(faultAfterAccept);
    }
    expect(sim.stats().errors[faultKind]).toBe(2);
  });

  it('a 502 after acceptance: the SMS went out, so sending it again is a duplicate the simulator counts', async () => {
    sim.configure({ failRate: 1, hangRate: 0, faultAfterAccept: 1 });
    const before = sim.stats();
    expect(await client.send(text('once', [A]))).toMatchObject({ kind: 'ambiguous', httpStatus: 502 });
    expect(sim.stats().acceptedRecipients - before.acceptedRecipients).toBe(1);
    sim.configure({ failRate: 0, faultAfterAccept: 0 });
    expect((await client.send(text('once', [A]))).kind).toBe('accepted');
    expect(sim.stats().duplicates - before.duplicates).toBe(1);
  });
});

describe('odd texts arrive as they were written (client encodes, simulator decodes, over real HTTP)', () => {
  /** The `<msg>` the simulator's report holds for a session: the text it decoded from the request. */
  async function textReceived(sessionId: string): Promise<string> {
    const xml = await (await fetch(`${sim.url}/API/V1/${KEY}/ADDON_SERVICES/RPT/TSMS/${sessionId}`)).text();
    const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    return /<msg>([\s\S]*?)<\/msg>/.exec(xml)![1]!.replace(/&(amp|lt|gt|quot|apos);/g, (_e, name: string) => entities[name]!);
  }

  it.each([
    ['form-encoding specials', 'a+b = 50% off & more #1 ?x=1;y %2B %'],
    ['something that looks like another parameter', 'Hi&apikey=other&to=919999999999&msg=hijacked'],
    ['line breaks, tabs and trailing spaces', '  Dear Asha,\r\nLine two\nTab\there  '],
    ['GSM extension characters', '^{}\\[~]|€'],
    ['Hindi, rupee and emoji beyond the BMP', 'नमस्ते राहुल ₹499 🎉👨‍👩‍👧'],
    ['XML specials', '<b>"T&C" apply</b> \'ok\''],
  ])('%s', async (_label, body) => {
    const out = await client.send(text(body));
    if (out.kind !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(out)}`);
    expect(await textReceived(out.sessionId)).toBe(body);
    expect(sim.stats()).toMatchObject({ acceptedRecipients: 1 });
  });

  it('template variables too, in order', async () => {
    sim.configure({ templates: { ORDER: 'Hi {#var#}, {#var#}' } });
    const vars = ['Asha & Co+1', 'नमस्ते 🎉 %20&var3=x'];
    const out = await client.send({ module: 'TRANS_SMS', to: [A], from: 'ACMEIN', content: { kind: 'template', name: 'ORDER', vars } });
    if (out.kind !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(out)}`);
    expect(await textReceived(out.sessionId)).toBe(`Hi ${vars[0]}, ${vars[1]}`);
  });
});

describe('balance', () => {
  it('reports the write of balance and report lookups too (they count against the same limit)', async () => {
    const events: string[] = [];
    await client.balance('TRANSACTIONAL_SMS', undefined, () => events.push('balance written')).then(() => events.push('balance answered'));
    await client.deliveryReport('0123456789abcdef0123456789abcdef', undefined, () => events.push('report written')).then(() => events.push('report answered'));
    expect(events).toEqual(['balance written', 'balance answered', 'report written', 'report answered']);
  });

  it('reads credits for both products, unlimited as a large number', async () => {
    sim.configure({ balance: 10 });
    await client.send(text('x', [A, B]));
    expect(await client.balance('TRANSACTIONAL_SMS')).toBe(8);
    expect(await client.balance('PROMOTIONAL_SMS')).toBe(8);
    sim.configure({ balance: null });
    expect(await client.balance('TRANSACTIONAL_SMS')).toBeGreaterThan(1e6);
  });

  it('a wrong key throws a typed error without the key in it', async () => {
    const wrongKey = 'wrong-key-abcdef-0123456789';
    const other = clientFor(wrongKey);
    const err = await other.balance('TRANSACTIONAL_SMS').catch((e: unknown) => e);
    await other.close();
    expect(err).toBeInstanceOf(TwoFactorError);
    expect(err).toMatchObject({ kind: 'account_fatal', detail: 'Invalid API Key - No Account Exists' });
    expect(`${(err as Error).message}${(err as Error).stack}`).not.toContain(wrongKey);
  });
});

describe('delivery reports', () => {
  it('moves from pending to final after dlrDelayMs, one entry per recipient', async () => {
    sim.configure({ dlrDelayMs: 300, dltRejectRate: 1 });
    const out = await client.send(text('x', [A, B]));
    if (out.kind !== 'accepted') throw new Error(`not accepted: ${out.kind}`);
    const pending = await client.deliveryReport(out.sessionId);
    expect(pending.found && pending.entries.map((e) => [e.phone, e.state])).toEqual([[A, 'pending'], [B, 'pending']]);
    await new Promise((r) => setTimeout(r, 350));
    const final = await client.deliveryReport(out.sessionId);
    expect(final.found && final.entries.map((e) => [e.phone, e.state, e.dltReject, e.statusDesc])).toEqual([
      [A, 'failed', true, 'DLT-CNT-REJECT'],
      [B, 'failed', true, 'DLT-CNT-REJECT'],
    ]);
  });

  it('delivered and FAILED shares; unknown sessions are not found', async () => {
    const ok = await client.send(text('y'));
    sim.configure({ dlrFailRate: 1 });
    const bad = await client.send(text('z'));
    if (ok.kind !== 'accepted' || bad.kind !== 'accepted') throw new Error('not accepted');
    expect(await client.deliveryReport(ok.sessionId)).toMatchObject({ found: true, entries: [{ state: 'delivered', statusDesc: 'DELIVERED', statusId: '5' }] });
    expect(await client.deliveryReport(bad.sessionId)).toMatchObject({ found: true, entries: [{ state: 'failed', statusDesc: 'FAILED', dltReject: false }] });
    expect(await client.deliveryReport('no-such-session')).toEqual({ found: false, detail: 'logStatus is "Invalid"' });
  });

  it('a wrong key is an error, not an empty report', async () => {
    const other = clientFor('wrong-key-abcdef-0123456789');
    await expect(other.deliveryReport('abc')).rejects.toMatchObject({ kind: 'account_fatal' });
    await other.close();
  });
});

describe('SMS OTP', () => {
  it('AUTOGEN → verify: mismatch, match, then used', async () => {
    const sessionId = await client.sendOtp(A);
    const otp = sim.stats().otps[sessionId];
    expect(otp).toMatch(/^\d{6}$/);
    const wrong = otp === '000000' ? '111111' : '000000';
    expect(await client.verifyOtp(sessionId, wrong)).toBe('mismatch');
    expect(await client.verifyOtp(sessionId, otp!)).toBe('matched');
    expect(await client.verifyOtp(sessionId, otp!)).toBe('expired');
    expect(await client.verifyOtp('unknown-session', '123456')).toBe('expired');
  });

  it('codes expire after otpTtlMs; a template name is accepted', async () => {
    sim.configure({ otpTtlMs: 50 });
    const sessionId = await client.sendOtp(B, 'LOGIN');
    const otp = sim.stats().otps[sessionId]!;
    await new Promise((r) => setTimeout(r, 80));
    expect(await client.verifyOtp(sessionId, otp)).toBe('expired');
    sim.configure({ otpTtlMs: 600_000 });
  });

  it('an invalid number is refused with a typed error', async () => {
    await expect(client.sendOtp('+9112')).rejects.toMatchObject({ kind: 'permanent_recipient' });
  });
});

describe('createTwoFactorProviderFromConfig', () => {
  it('builds the client from TWOFACTOR_* settings and refuses a missing key', async () => {
    const fromConfig = createTwoFactorProviderFromConfig({ config: loadConfig({ TWOFACTOR_BASE_URL: sim.url, TWOFACTOR_API_KEY: KEY }), logger: log.logger });
    expect((await fromConfig.send(text('cfg'))).kind).toBe('accepted');
    await fromConfig.close();
    expect(() => createTwoFactorProviderFromConfig({ config: loadConfig({}), logger: log.logger })).toThrow(/TWOFACTOR_API_KEY/);
  });
});
