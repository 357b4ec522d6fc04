import { createStatusCache } from '../../../src/api/status-cache';
import type { CampaignStatusResult } from '../../../src/api/deps';

const status = (s: string, sent: number): CampaignStatusResult => ({
  campaignId: 'c1', status: s, pauseReason: null, total: 10,
  counts: { pending: 0, queued: 0, sending: 0, sent, delivered: 0, failed: 0, unknown: 0, suppressed: 0, cancelled: 0 },
});

describe('campaign status memo', () => {
  it('reuses a running campaign for activeTtl and a finished one for settledTtl', async () => {
    let t = 0;
    const cache = createStatusCache({ activeTtlMs: 1000, settledTtlMs: 10_000, now: () => t });
    let calls = 0;
    const load = (s: string) => async () => status(s, ++calls);
    expect((await cache.get('c1', load('running'))).counts.sent).toBe(1);
    t = 999;
    expect((await cache.get('c1', load('running'))).counts.sent).toBe(1);
    t = 1000;
    // Completed but with sent (not yet delivered) messages: still moving, short TTL.
    expect((await cache.get('c1', load('completed'))).counts.sent).toBe(2);
    t = 2000;
    expect((await cache.get('c1', async () => ({ ...status('completed', 0), total: 99 }))).total).toBe(99);
    t = 11_999;
    expect((await cache.get('c1', load('completed'))).total).toBe(99);
    t = 12_000;
    expect((await cache.get('c1', load('completed'))).counts.sent).toBe(3);
  });

  it('shares one in-flight load, drops failures and honours invalidate', async () => {
    const cache = createStatusCache();
    let calls = 0;
    const slow = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
      return status('running', calls);
    };
    const [a, b] = await Promise.all([cache.get('c1', slow), cache.get('c1', slow)]);
    expect([a.counts.sent, b.counts.sent, calls]).toEqual([1, 1, 1]);
    cache.invalidate('c1');
    expect((await cache.get('c1', slow)).counts.sent).toBe(2);
    await expect(cache.get('c2', async () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect((await cache.get('c2', async () => status('draft', 9))).counts.sent).toBe(9);
  });

  it('does not use a memo of another version of the campaign row (changed elsewhere since)', async () => {
    const cache = createStatusCache({ settledTtlMs: 60_000, now: () => 0 });
    expect((await cache.get('c1', async () => status('draft', 0), 1)).status).toBe('draft');
    expect((await cache.get('c1', async () => status('running', 0), 1)).status).toBe('draft');
    expect((await cache.get('c1', async () => status('running', 0), 2)).status).toBe('running');
  });
});
