/**
 * `bulksms campaign list`: an operator on the command line finds the campaigns (and their ids) again, with what
 * GET /api/campaigns answers — the same fields from the same code — newest first, filtered and paged.
 */
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign } from '../../helpers/sending-fixtures';
import { TEST_API_TOKEN, http, startApi, type RunningApi } from '../../helpers/api-server';
import { wiredServices } from '../../../src/cli/commands/serve';
import { pauseCampaign, startCampaign } from '../../../src/sending/campaign-control';
import { formatIst } from '../../../src/campaign/send-window';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });
const ids: Record<'oldest' | 'paused' | 'newest', string> = { oldest: '', paused: '', newest: '' };
let api: RunningApi;

async function listJson(...args: string[]): Promise<{ code: number | null; json: Record<string, unknown> }> {
  const r = await runCli(['campaign', 'list', ...args, '--json'], env.env);
  return { code: r.code, json: JSON.parse(r.stdout) as Record<string, unknown> };
}
const namesOf = (json: Record<string, unknown>) => (json.campaigns as { name: string }[]).map((c) => c.name);

beforeAll(async () => {
  const c = env.container();
  api = await startApi(c, wiredServices(), { dashboard: false });
  env.cleanup(() => api.close());
  let minutesAgo = 30;
  for (const key of ['oldest', 'paused', 'newest'] as const) {
    const { campaignId } = await seedCampaign(c.pg, { recipients: 3 });
    await c.pg.query(`UPDATE campaigns SET name = $2, created_at = now() - make_interval(mins => $3) WHERE id = $1`, [campaignId, key, minutesAgo]);
    minutesAgo -= 10;
    ids[key] = campaignId;
  }
  await startCampaign(c, ids.paused);
  // The provider's words may quote a recipient's number: never printed by the CLI.
  await pauseCampaign(c, ids.paused, 'provider refused +919876543210: number blocked');
});

describe('bulksms campaign list', () => {
  it('--json prints {campaigns, nextCursor}: newest first, each as GET /api/campaigns answers it, numbers in reasons masked', async () => {
    const cli = await listJson();
    expect(cli.code).toBe(0);
    const fromApi = (await http('GET', `${api.url}/api/campaigns`)).json<{ items: unknown[]; nextCursor: string | null }>();
    expect(cli.json).toEqual({ campaigns: fromApi.items, nextCursor: null });
    expect(namesOf(cli.json)).toEqual(['newest', 'paused', 'oldest']);
    const paused = (cli.json.campaigns as Record<string, unknown>[])[1]!;
    expect(paused).toMatchObject({ id: ids.paused, status: 'paused', total: 3, counts: { pending: 3, sent: 0 }, run: { runNumber: 1, runCount: 1 } });
    expect(paused.pauseReason).toMatch(/^provider refused \+\*+3210: number blocked$/);
  }, 60_000);

  it('filters by --status and pages with --limit and --cursor; a cursor of another filter is bad input naming --cursor', async () => {
    expect(namesOf((await listJson('--status', 'paused')).json)).toEqual(['paused']);
    const first = await listJson('--limit', '2');
    expect(namesOf(first.json)).toEqual(['newest', 'paused']);
    const cursor = first.json.nextCursor as string;
    expect(cursor).toEqual(expect.any(String));
    const second = await listJson('--limit', '2', '--cursor', cursor);
    expect(second.json).toMatchObject({ nextCursor: null });
    expect(namesOf(second.json)).toEqual(['oldest']);
    const otherFilter = await listJson('--status', 'draft', '--cursor', cursor);
    expect(otherFilter.code).toBe(2);
    expect(otherFilter.json).toEqual({ error: { code: 'validation', field: 'cursor', message: expect.stringMatching(/^--cursor was issued for another query/) } });
  }, 90_000);

  it('refuses an unknown status and a limit out of range or not a number: exit 2, saying what', async () => {
    const status = await listJson('--status', 'sent');
    expect(status).toEqual({
      code: 2,
      json: { error: { code: 'validation', field: 'status', message: expect.stringMatching(/^--status: "sent" is not a campaign status \(one of draft, scheduled, running/) } },
    });
    const zero = await listJson('--limit', '0');
    expect(zero).toEqual({ code: 2, json: { error: { code: 'validation', field: 'limit', message: '--limit must be a whole number from 1 to 100' } } });
    const notNumber = await listJson('--limit', '1e2');
    expect(notNumber).toEqual({ code: 2, json: { error: { code: 'validation', field: 'limit', message: '--limit: "1e2" is not a whole number' } } });
  }, 90_000);

  it('prints a table for a person: ids, counts, times in IST, and the command for the next page', async () => {
    const r = await runCli(['campaign', 'list', '--limit', '2'], env.env);
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header!.split(/\s+/)).toEqual(['ID', 'NAME', 'TYPE', 'STATUS', 'DONE/TOTAL', 'SENT', 'DELIVERED', 'FAILED', 'CREATED', 'STARTED']);
    const c = env.container();
    const paused = await c.prisma.campaign.findUniqueOrThrow({ where: { id: ids.paused }, include: { runs: true } });
    const pausedRow = rows.find((l) => l.startsWith(ids.paused))!;
    expect(pausedRow.split(/\s{2,}/)).toEqual([
      ids.paused, 'paused', 'transactional', 'paused', '0/3', '0', '0', '0', formatIst(paused.createdAt), formatIst(paused.runs[0]!.startedAt!),
    ]);
    expect(rows.find((l) => l.startsWith(ids.newest))).toMatch(/ draft .* 0\/0 .* - *$/);
    expect(rows[rows.length - 1]).toMatch(/^more: bulksms campaign list --limit 2 --cursor [A-Za-z0-9_-]+$/);
    expect(r.stdout).not.toContain('9876543210');
  }, 60_000);
});
