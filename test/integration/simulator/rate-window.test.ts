/** The simulator's per-key sliding 1-second window over real HTTP. */
import { createTwoFactorProvider, type TwoFactorClient } from '../../../src/provider/twofactor/client';
import type { SendRequest } from '../../../src/provider/sms-provider';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server';
import { captureLogger, sleep } from '../../helpers/provider';

const KEY = 'rate-key-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const REQ: SendRequest = { module: 'TRANS_SMS', to: ['+919876543210'], from: 'ACMEIN', content: { kind: 'text', text: 'hi' } };

let sim: RunningSimulator;
let client: TwoFactorClient;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, rate: 10 });
  client = createTwoFactorProvider({ baseUrl: sim.url, apiKey: KEY, timeoutMs: 5_000, connections: 32, logger: captureLogger().logger });
});
afterAll(async () => {
  await client.close();
  await sim.close();
});
beforeEach(async () => {
  await fetch(`${sim.url}/__reset`, { method: 'POST' });
});

it('a burst above the limit is rejected with 429 beyond the limit, and every arrival counts in maxWindow', async () => {
  const outs = await Promise.all(Array.from({ length: 25 }, () => client.send(REQ)));
  expect(outs.filter((o) => o.kind === 'accepted')).toHaveLength(10);
  expect(outs.filter((o) => o.kind === 'retryable' && o.throttled && o.httpStatus === 429)).toHaveLength(15);
  expect(sim.stats()).toMatchObject({ requests: 25, accepted: 10, throttled: 15, maxWindow: 25 });
});

it('a stream paced at the limit is never throttled', async () => {
  sim.configure({ rate: 20 });
  try {
    for (let i = 0; i < 45; i++) {
      const out = await client.send(REQ);
      expect(out.kind).toBe('accepted');
      await sleep(50);
    }
    expect(sim.stats()).toMatchObject({ requests: 45, throttled: 0 });
    expect(sim.stats().maxWindow).toBeLessThanOrEqual(20);
    expect(sim.stats().maxWindow).toBeGreaterThanOrEqual(15);
    // 44 gaps of ≥ 50 ms between the first and the last arrival: the span the benchmarks divide by.
    expect(sim.stats().arrivalSpanMs).toBeGreaterThanOrEqual(44 * 50);
    expect(sim.stats().arrivalSpanMs).toBeLessThan(44 * 50 * 3);
  } finally {
    sim.configure({ rate: 10 });
  }
});

it('windows are per key: another key does not use up ours', async () => {
  const other = createTwoFactorProvider({ baseUrl: sim.url, apiKey: 'another-key-1234567', timeoutMs: 5_000, connections: 16, logger: captureLogger().logger });
  try {
    const theirs = await Promise.all(Array.from({ length: 12 }, () => other.send(REQ)));
    expect(theirs.filter((o) => o.kind === 'account_fatal')).toHaveLength(10);
    const ours = await Promise.all(Array.from({ length: 10 }, () => client.send(REQ)));
    expect(ours.every((o) => o.kind === 'accepted')).toBe(true);
  } finally {
    await other.close();
  }
});

it('a burst after the window has slid past is admitted again', async () => {
  await Promise.all(Array.from({ length: 10 }, () => client.send(REQ)));
  expect((await client.send(REQ)).kind).toBe('retryable');
  await sleep(1_050);
  const again = await Promise.all(Array.from({ length: 10 }, () => client.send(REQ)));
  expect(again.every((o) => o.kind === 'accepted')).toBe(true);
});

it("rateScope 'all' counts balance and report calls against the same window; 'send' does not", async () => {
  sim.configure({ rate: 3, rateScope: 'all' });
  try {
    expect(await client.balance('TRANSACTIONAL_SMS')).toBeGreaterThan(0);
    await client.deliveryReport('unknown');
    expect((await client.send(REQ)).kind).toBe('accepted');
    expect(await client.send(REQ)).toMatchObject({ kind: 'retryable', throttled: true });
    await expect(client.balance('TRANSACTIONAL_SMS')).rejects.toMatchObject({ kind: 'retryable' });
    expect(sim.stats().throttled).toBe(2);
    // The provider's view of the limit counts what the limit counts: 2 sends + 2 balances + 1 report.
    expect(sim.stats().maxWindow).toBe(5);

    await sleep(1_050);
    sim.configure({ rateScope: 'send' });
    await fetch(`${sim.url}/__reset`, { method: 'POST' });
    for (let i = 0; i < 5; i++) await client.balance('TRANSACTIONAL_SMS');
    const sends = await Promise.all([1, 2, 3, 4].map(() => client.send(REQ)));
    expect(sends.filter((o) => o.kind === 'accepted')).toHaveLength(3);
    expect(sim.stats().maxWindow).toBe(4); // the sends only
  } finally {
    sim.configure({ rate: 10, rateScope: 'all' });
  }
});
