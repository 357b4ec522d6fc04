/** `bulksms campaign create` without --json: what a person reads back after scheduling. */
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { writeTempCsv } from '../../helpers/temp-csv';

const env = useTestEnv();

describe('bulksms campaign create (human output)', () => {
  it('shows an --at instant in the zone it was given in, with the UTC instant beside it', async () => {
    const csv = await writeTempCsv('bulksms-create-out-', ['phone,name', '9876570001,A'].join('\n'));
    expect((await runCli(['import', csv, '--list', 'create-out', '--json'], env.env)).code).toBe(0);
    // Tomorrow at 10:00 in India, typed without a zone (wall-clock time in --tz, default Asia/Kolkata).
    const tomorrowIst = new Date(Date.now() + 5.5 * 3_600_000 + 86_400_000).toISOString().slice(0, 10);
    const created = await runCli(
      ['campaign', 'create', '--name', 'create-out', '--list', 'create-out', '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--at', `${tomorrowIst}T10:00`],
      env.env,
    );
    expect(created.code).toBe(0);
    const utc = new Date(`${tomorrowIst}T04:30:00.000Z`).toISOString();
    expect(created.stdout).toContain(`runs at ${tomorrowIst} 10:00 Asia/Kolkata (${utc})`);
    // --regulated: kept RETENTION_REGULATED_DAYS (banking: 7 years) before `bulksms archive` deletes its messages.
    const regulated = await runCli(
      ['campaign', 'create', '--name', 'statement', '--list', 'create-out', '--type', 'transactional', '--from', 'BLKSMS', '--text', 'Hi {{name}}', '--regulated', '--json'],
      env.env,
    );
    expect([regulated.code, (JSON.parse(regulated.stdout) as { regulated: boolean }).regulated]).toEqual([0, true]);
    // …and says so afterwards: `campaign status --json` and `campaign list --json` show it.
    const id = (JSON.parse(regulated.stdout) as { campaignId: string }).campaignId;
    const status = await runCli(['campaign', 'status', id, '--json'], env.env);
    expect(JSON.parse(status.stdout)).toMatchObject({ campaignId: id, regulated: true });
    const listed = JSON.parse((await runCli(['campaign', 'list', '--json'], env.env)).stdout) as { campaigns: { id: string; regulated: boolean }[] };
    expect(listed.campaigns.find((c) => c.id === id)?.regulated).toBe(true);
  });
});
