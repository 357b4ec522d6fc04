/**
 * `bulksms send` shows what `campaign create` warns of before it sends (recipients whose message will fail, UCS-2):
 * the one-shot run used to drop the warnings, so an empty {{column}} showed only as a failed count at the end.
 */
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { writeTempCsv } from '../../helpers/temp-csv';

const env = useTestEnv();

describe('bulksms send: create warnings', () => {
  let t: TestSimulator;
  let csv: string;
  beforeAll(async () => {
    t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 200, latencyMs: [5, 20] });
    csv = await writeTempCsv('bulksms-send-warnings-', ['phone,name', '9876570001,Asha', '9876570002,', '9876570003,{{first_name}}', '9876570004,राहुल'].join('\n'));
  });
  afterAll(() => t.close());

  it('prints them on stderr, leaving --json one object on stdout', async () => {
    const r = await runCli(
      ['send', csv, '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--wait-reports', '0', '--json'],
      { ...env.env, TWOFACTOR_BASE_URL: t.sim.url },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: 2 recipient\(s\) have an empty value for a \{\{column\}\}, or one holding a placeholder/m);
    expect(r.stderr).toMatch(/^warning: 1 message\(s\) need UCS-2/m);
    const out = JSON.parse(r.stdout) as { status: string; counts: Record<string, number> };
    expect(out).toMatchObject({ status: 'completed', counts: { sent: 2, failed: 2 } });
  }, 60_000);
});
