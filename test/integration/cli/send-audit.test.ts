/**
 * `bulksms send` audits every action it takes on its own, as the separate commands do: the import of its list
 * (list.import, like `bulksms import`), then the campaign's create and start. The import left no entry.
 */
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { startTestSimulator, type TestSimulator } from '../../helpers/sending-simulator';
import { writeTempCsv } from '../../helpers/temp-csv';

const env = useTestEnv();

describe('bulksms send: audit', () => {
  let t: TestSimulator;
  beforeAll(async () => {
    t = await startTestSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, rate: 200, latencyMs: [5, 20] });
  });
  afterAll(() => t.close());

  it('records list.import for its list, then campaign.create and campaign.start', async () => {
    const csv = await writeTempCsv('bulksms-send-audit-', ['phone,name', '9876571001,Asha', '9876571002,Ravi'].join('\n'));
    const r = await runCli(
      ['send', csv, '--list', 'send-audited', '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--wait-reports', '0', '--json'],
      { ...env.env, TWOFACTOR_BASE_URL: t.sim.url },
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { campaignId: string; listId: string };
    const { rows } = await env.container().pg.query<{ action: string; target: string; via: string; command: string; list: string | null; accepted: number | null }>(
      `SELECT action, target, details->>'via' AS via, details->>'command' AS command, details->>'list' AS list, (details->>'accepted')::int AS accepted
         FROM audit_log WHERE target IN ($1, $2) ORDER BY id`,
      [out.listId, out.campaignId],
    );
    expect(rows).toEqual([
      { action: 'list.import', target: out.listId, via: 'cli', command: 'send', list: 'send-audited', accepted: 2 },
      { action: 'campaign.create', target: out.campaignId, via: 'cli', command: 'send', list: null, accepted: null },
      { action: 'campaign.start', target: out.campaignId, via: 'cli', command: 'send', list: null, accepted: null },
    ]);
  }, 60_000);
});
