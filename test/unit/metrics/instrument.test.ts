import { instrumentPacer, instrumentProvider, recordImport } from '../../../src/metrics-instrument';
import { importRows, providerOutcomes, providerRequests, rateLimitWaitSeconds, rateLimitWaits, sendLatency } from '../../../src/metrics';
import type { Pacer } from '../../../src/sending/pacer';
import type { SmsProvider } from '../../../src/provider/sms-provider';

const value = async (metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number; metricName?: string }[] }> }, labels: Record<string, string>, name?: string) =>
  (await metric.get()).values.find(
    (v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l) && (name === undefined || v.metricName === name),
  )?.value ?? 0;

describe('metric instrumentation', () => {
  const req = { module: 'TRANS_SMS' as const, to: ['+919876543210'], from: 'ACMEIN', content: { kind: 'text' as const, text: 'hi' } };

  it('counts each provider answer by outcome class and observes its latency', async () => {
    let t = 0;
    const outcomes = [{ kind: 'accepted' as const, sessionId: 's1' }, { kind: 'retryable' as const, detail: '429', throttled: true }];
    const fake: SmsProvider = {
      send: async () => {
        t += 250;
        return outcomes.shift()!;
      },
      balance: async () => 42,
      deliveryReport: async () => ({ found: false, detail: 'x' }),
      close: async () => undefined,
    };
    const before = await value(providerOutcomes, { outcome: 'accepted' });
    const p = instrumentProvider(fake, () => t);
    await p.send(req);
    await p.send(req);
    expect(await value(providerOutcomes, { outcome: 'accepted' })).toBe(before + 1);
    expect(await value(providerOutcomes, { outcome: 'retryable' })).toBe(1);
    // The fake clock makes each round trip 250 ms: in the 0.3 s bucket, not the 0.2 s one.
    const bucket = (le: string) => value(sendLatency, { outcome: 'accepted', le }, 'bulksms_send_latency_seconds_bucket');
    expect([await bucket('0.2'), await bucket('0.3')]).toEqual([0, 1]);
    expect(await value(sendLatency, { outcome: 'accepted' }, 'bulksms_send_latency_seconds_sum')).toBeCloseTo(0.25);
    expect(await p.balance('TRANSACTIONAL_SMS')).toBe(42);
  });

  it('counts a throwing send as ambiguous and rethrows', async () => {
    const before = await value(providerOutcomes, { outcome: 'ambiguous' });
    const p = instrumentProvider({
      send: async () => Promise.reject(new Error('aborted')),
      balance: async () => 0,
      deliveryReport: async () => ({ found: false, detail: '' }),
      close: async () => undefined,
    });
    await expect(p.send(req)).rejects.toThrow('aborted');
    expect(await value(providerOutcomes, { outcome: 'ambiguous' })).toBe(before + 1);
  });

  it('counts every provider request by kind', async () => {
    const before = { send: await value(providerRequests, { kind: 'send' }), balance: await value(providerRequests, { kind: 'balance' }), report: await value(providerRequests, { kind: 'report' }) };
    const p = instrumentProvider({
      send: async () => ({ kind: 'accepted', sessionId: 's' }),
      balance: async () => 1,
      deliveryReport: async () => ({ found: false, detail: '' }),
      close: async () => undefined,
    });
    await p.send(req);
    await p.balance('PROMOTIONAL_SMS');
    await p.deliveryReport('s');
    await p.deliveryReport('s');
    expect(await value(providerRequests, { kind: 'send' })).toBe(before.send + 1);
    expect(await value(providerRequests, { kind: 'balance' })).toBe(before.balance + 1);
    expect(await value(providerRequests, { kind: 'report' })).toBe(before.report + 2);
  });

  it('counts slots the pacer hands out in the future as rate-limit waits, with their wait time', async () => {
    // Slots at +0 ms (no wait), +10 ms and +20 ms.
    const fake: Pacer = {
      intervalMs: 10,
      penalise: async () => undefined,
      reserve: async (n) => ({ firstAt: performance.now(), earliestAt: performance.now(), intervalMs: 10, count: n }),
      admit: async () => ({ waitedMs: 7, askedAt: performance.now(), member: 'm' }),
      dispatched: () => false,
    };
    const waits = await value(rateLimitWaits, {});
    const observed = await value(rateLimitWaitSeconds, {}, 'bulksms_rate_limit_wait_seconds_count');
    const p = instrumentPacer(fake);
    expect(p.intervalMs).toBe(10);
    const r = await p.reserve(3);
    expect(r.count).toBe(3);
    expect(await value(rateLimitWaits, {})).toBe(waits + 2);
    expect(await value(rateLimitWaitSeconds, {}, 'bulksms_rate_limit_wait_seconds_count')).toBe(observed + 2);
    // An admission that waited 7 ms for the sliding window is one more wait.
    expect((await p.admit()).waitedMs).toBe(7);
    expect(await value(rateLimitWaits, {})).toBe(waits + 3);
  });

  it('records import rows by result', async () => {
    const before = await value(importRows, { result: 'duplicate' });
    recordImport({ accepted: 5, rejected: 2, duplicates: 3, suppressed: 1 });
    expect(await value(importRows, { result: 'duplicate' })).toBe(before + 3);
  });
});
