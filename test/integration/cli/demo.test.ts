/** `bulksms demo`, small: delivery reports come back through the webhook and show in the summary. */
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';

const env = useTestEnv();

describe('bulksms demo', () => {
  it('sends the sample list and reports deliveries from the webhook in the summary', async () => {
    const r = await runCli(['demo', '--rows', '300', '--latency', '10-40', '--wait-reports', '5'], env.env);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('delivery reports'));
    const m = line?.match(/(\d+) delivered, (\d+) failed, (\d+) still awaited .*; (\d+) webhook callbacks/);
    expect(m).toBeTruthy();
    const [delivered, failed, awaiting, callbacks] = m!.slice(1).map(Number);
    const sent = Number(r.stdout.match(/imported\s+(\d+) of 300 rows/)![1]);
    expect(delivered).toBeGreaterThan(0);
    expect(delivered! + failed!).toBe(sent);
    expect(awaiting).toBe(0);
    expect(callbacks).toBe(sent);
  }, 90_000);

  it.each([
    [['--rows', 'abc'], /--rows/],
    [['--rows', '-5'], /--rows/],
    [['--latency', 'abc'], /--latency/],
  ])('refuses %j with exit 2 naming the option, before starting anything', async (args, message) => {
    const r = await runCli(['demo', ...args], env.env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).not.toMatch(/bulksms demo:/);
  });
});
