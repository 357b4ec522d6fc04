/**
 * `bulksms send` of a promotional campaign still sending at 21:00 IST: the one-shot run stops at the TRAI window
 * like a worker's run does (it kept sending into the night: its in-process workers had no window watcher).
 */
import { runSend } from '../../../src/cli/run-send';
import { WINDOW_PAUSE_PREFIX } from '../../../src/campaign/send-window';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { writeTempCsv } from '../../helpers/temp-csv';

const env = useTestEnv({ SMS_RATE_LIMIT: '20' });

describe('bulksms send: the TRAI window closes while it sends', () => {
  let t: TestSimulator;
  let csv: string;
  beforeAll(async () => {
    t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 20, latencyMs: [20, 60] });
    // 200 requests at 20/s: ten seconds of sending, the window closes after four.
    const rows = Array.from({ length: 200 }, (_v, i) => `98765${String(60000 + i)},N${i}`);
    csv = await writeTempCsv('bulksms-send-window-', ['phone,name', ...rows].join('\n'));
  });
  afterAll(() => t.close());

  it('pauses the promotional run at 21:00 IST instead of sending on', async () => {
    // The run's clock: the real one moved so that the start (its first reading) is at 20:59:56 IST, and 21:00 comes
    // four seconds later, while the list is still being sent.
    let offset: number | undefined;
    const now = (): Date => {
      offset ??= new Date('2026-11-26T20:59:56+05:30').getTime() - Date.now();
      return new Date(Date.now() + offset);
    };
    const outcome = await runSend(
      env.container(),
      { file: csv, type: 'promotional', from: '123456', text: 'Sale for {{name}}' },
      { progress: false, provider: t.provider(), waitReportsMs: 0, now },
    );
    expect(outcome.status.status).toBe('paused');
    expect(outcome.status.pauseReason).toMatch(new RegExp(`^${WINDOW_PAUSE_PREFIX}`));
    expect(outcome.status.counts.sending).toBe(0);
    // Stopped at the window: most of the list is still waiting for 09:00 (how much went out before 21:00 depends on
    // how fast the workers started, so only the rest is asserted).
    const sent = outcome.status.counts.sent + outcome.status.counts.delivered;
    expect(sent).toBeLessThan(200);
    expect(outcome.status.counts.pending + outcome.status.counts.queued).toBe(200 - sent);
    expect(t.sim.stats().acceptedRecipients).toBe(sent);
  }, 60_000);
});
