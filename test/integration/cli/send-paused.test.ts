/**
 * `bulksms send` whose campaign the provider pauses (balance exhausted under --force): the run ends `paused`
 * (exit 1) and its --json is the final state, with the requests that were in flight at the pause recorded —
 * nothing left `sending`, the same counts `campaign status` reads afterwards.
 */
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { writeTempCsv } from '../../helpers/temp-csv';

const env = useTestEnv({ SMS_RATE_LIMIT: '40' });

interface StatusJson {
  campaignId: string;
  status: string;
  pauseReason: string | null;
  counts: Record<string, number>;
}

describe('bulksms send: paused by the provider', () => {
  let t: TestSimulator;
  let csv: string;
  beforeAll(async () => {
    // Five credits and slow answers: when the first "balance too low" arrives, more requests are still in flight.
    t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 40, latencyMs: [300, 600], balance: 5 });
    const rows = Array.from({ length: 200 }, (_v, i) => `98765${String(50000 + i)},N${i}`);
    csv = await writeTempCsv('bulksms-send-paused-', ['phone,name', ...rows].join('\n'));
  });
  afterAll(() => t.close());

  it('prints the final state: nothing left sending, the counts campaign status reads afterwards', async () => {
    const cliEnv = { ...env.env, TWOFACTOR_BASE_URL: t.sim.url };
    const r = await runCli(
      ['send', csv, '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--force', '--wait-reports', '0', '--json'],
      cliEnv,
    );
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as StatusJson;
    expect(out.status).toBe('paused');
    expect(out.pauseReason).toMatch(/balance/i);
    expect(out.counts.sending).toBe(0);
    expect(out.counts.sent).toBe(t.sim.stats().acceptedRecipients);
    const after = await runCli(['campaign', 'status', out.campaignId, '--json'], cliEnv);
    expect(after.code).toBe(0);
    expect(out.counts).toEqual((JSON.parse(after.stdout) as StatusJson).counts);
  }, 90_000);
});
