/**
 * `bulksms list ls` and `bulksms list show`: an operator on the command line finds the contact lists again — ids,
 * status, counts, columns — with what GET /api/lists answers, from the same code; no phone number is printed.
 */
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { TEST_API_TOKEN, http, startApi, type RunningApi } from '../../helpers/api-server';
import { wiredServices } from '../../../src/cli/commands/serve';
import { importContacts } from '../../../src/import/import-contacts';
import { ABANDONED_IMPORT_REASON } from '../../../src/import/list-store';
import { formatIst } from '../../../src/campaign/send-window';
import { createCampaign } from '../../../src/campaign/campaign-service';
import { cancelCampaign } from '../../../src/sending/campaign-control';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });
let api: RunningApi;
let customersId: string;
let customersReport: string;

async function cliJson(...args: string[]): Promise<{ code: number | null; json: Record<string, unknown> }> {
  const r = await runCli([...args, '--json'], env.env);
  return { code: r.code, json: JSON.parse(r.stdout) as Record<string, unknown> };
}
const namesOf = (json: Record<string, unknown>) => (json.lists as { name: string }[]).map((l) => l.name);

beforeAll(async () => {
  const c = env.container();
  api = await startApi(c, wiredServices(), { dashboard: false });
  env.cleanup(() => api.close());
  const hourAgo = new Date(Date.now() - 3_600_000);
  // A file without a header: the importer's reason quotes its first row, a recipient's number.
  await c.prisma.contactList.create({
    data: { name: 'headerless', status: 'failed', failureReason: 'no phone column in the header "Asha,9876543210"', createdAt: hourAgo },
  });
  // Its importer was killed: shown as failed, never `importing` for good.
  await c.prisma.contactList.create({ data: { name: 'killed', status: 'importing', createdAt: new Date(hourAgo.getTime() + 1000) } });
  const csv = 'phone,First Name,city\n9876543210,Asha,Pune\n12345,Short,Delhi\n9876543210,Again,Pune\n9876543211,Ravi,Goa\n';
  const imported = await importContacts(c, Readable.from([csv]), { listName: 'customers', fileName: 'customers.csv' });
  customersId = imported.listId;
  customersReport = imported.rejectReport!;
});

describe('bulksms list ls', () => {
  it('--json prints {lists, nextCursor}: newest first, as GET /api/lists answers, the row report as its path', async () => {
    const cli = await cliJson('list', 'ls');
    expect(cli.code).toBe(0);
    expect(namesOf(cli.json)).toEqual(['customers', 'killed', 'headerless']);
    const fromApi = (await http('GET', `${api.url}/api/lists`)).json<{ items: Record<string, unknown>[]; nextCursor: string | null }>();
    const withoutReport = (l: Record<string, unknown>) => Object.fromEntries(Object.entries(l).filter(([k]) => k !== 'rejectReport' && k !== 'rejectReportUrl'));
    expect(cli.json.nextCursor).toBeNull();
    expect((cli.json.lists as Record<string, unknown>[]).map(withoutReport)).toEqual(fromApi.items.map(withoutReport));
    const [customers, killed, headerless] = cli.json.lists as Record<string, unknown>[];
    expect(customers).toMatchObject({
      id: customersId, status: 'ready', rows: 4, accepted: 2, rejected: 1, duplicates: 1, suppressed: 0,
      columns: ['first_name', 'city'], phoneColumn: 'phone', rejectReport: customersReport,
    });
    expect(existsSync(customersReport)).toBe(true);
    expect(killed).toMatchObject({ status: 'failed', failureReason: ABANDONED_IMPORT_REASON, rejectReport: null });
    expect(headerless!.failureReason).toBe('no phone column in the header "Asha,******3210"');
  }, 60_000);

  it('pages with --limit and --cursor, and refuses a limit out of range or a cursor that is none: exit 2 naming the option', async () => {
    const first = await cliJson('list', 'ls', '--limit', '2');
    expect(namesOf(first.json)).toEqual(['customers', 'killed']);
    const second = await cliJson('list', 'ls', '--limit', '2', '--cursor', first.json.nextCursor as string);
    expect(second.json).toMatchObject({ nextCursor: null });
    expect(namesOf(second.json)).toEqual(['headerless']);
    expect(await cliJson('list', 'ls', '--limit', '501')).toEqual({
      code: 2, json: { error: { code: 'validation', field: 'limit', message: '--limit must be a whole number from 1 to 500' } },
    });
    expect(await cliJson('list', 'ls', '--cursor', 'forged')).toEqual({
      code: 2, json: { error: { code: 'validation', field: 'cursor', message: '--cursor is not a valid cursor' } },
    });
  }, 90_000);

  it('prints a table for a person: ids, status, counts and the creation time in IST, no phone number', async () => {
    const r = await runCli(['list', 'ls'], env.env);
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    expect(header!.split(/\s+/)).toEqual(['ID', 'NAME', 'STATUS', 'ROWS', 'ACCEPTED', 'REJECTED', 'DUPLICATES', 'SUPPRESSED', 'CREATED']);
    const { createdAt } = await env.container().prisma.contactList.findUniqueOrThrow({ where: { id: customersId } });
    expect(rows[0]!.split(/\s{2,}/)).toEqual([customersId, 'customers', 'ready', '4', '2', '1', '1', '0', formatIst(createdAt)]);
    expect(rows.map((l) => l.split(/\s{2,}/)[2])).toEqual(['ready', 'failed', 'failed']);
    expect(r.stdout).not.toMatch(/9876543210/);
  }, 60_000);
});

describe('bulksms list show', () => {
  it('--json prints the list by name or id, as GET /api/lists/:id answers it, with the row report as its path', async () => {
    const byName = await cliJson('list', 'show', 'customers');
    expect(byName.code).toBe(0);
    expect(await cliJson('list', 'show', customersId)).toEqual(byName);
    const fromApi = await http('GET', `${api.url}/api/lists/${customersId}`);
    expect(fromApi.status).toBe(200);
    const { rejectReport, ...rest } = byName.json;
    const { rejectReportUrl, ...apiRest } = fromApi.json();
    expect(rest).toEqual(apiRest);
    expect({ rejectReport, rejectReportUrl }).toEqual({ rejectReport: customersReport, rejectReportUrl: `/api/lists/${customersId}/rejects.csv` });
    expect(byName.json).toMatchObject({ name: 'customers', status: 'ready', rows: 4, accepted: 2, columns: ['first_name', 'city'] });
  }, 60_000);

  it('says what a person needs: counts, the variables for {{column}}, the row report; why a failed list failed, its numbers masked', async () => {
    const ready = await runCli(['list', 'show', 'customers'], env.env);
    expect(ready.code).toBe(0);
    expect(ready.stdout).toContain(`list ${customersId}: customers (ready)`);
    expect(ready.stdout).toContain('rows 4: accepted 2, rejected 1, duplicates 1, suppressed 0');
    expect(ready.stdout).toContain("variables: {{first_name}}, {{city}}, {{phone}} (the recipient's number)");
    expect(ready.stdout).toContain(`rejected rows: ${customersReport}`);
    const failed = await runCli(['list', 'show', 'headerless'], env.env);
    expect(failed.stdout).toContain('headerless (failed)');
    expect(failed.stdout).toContain('why: no phone column in the header "Asha,******3210"');
    expect(failed.stdout).not.toContain('variables');
  }, 60_000);

  it('an unknown list is exit 2, saying so', async () => {
    expect(await cliJson('list', 'show', 'nope')).toEqual({
      code: 2, json: { error: { code: 'not_found', message: 'no contact list named or with id "nope" (`bulksms list ls` shows them)' } },
    });
    expect(await cliJson('list', 'show', 'Costumers')).toEqual({
      code: 2, json: { error: { code: 'not_found', message: 'no contact list named or with id "Costumers" (did you mean "customers"?)' } },
    });
  }, 60_000);
});

describe('bulksms list delete, then list show', () => {
  it("a deleted list's rows left out are not shown as `none`, and the refusals name no `--list` option (the list is the argument)", async () => {
    const c = env.container();
    const csv = 'phone,name\n9876543220,Asha\n12345,Short\n';
    await importContacts(c, Readable.from([csv]), { listName: 'to-delete', fileName: 'to-delete.csv' });
    // A finished campaign keeps the deleted list's row (a list no campaign names is removed outright).
    const campaign = await createCampaign(c, { name: 'old', list: 'to-delete', type: 'transactional', from: 'ACMEIN', text: 'Hi {{name}}' });
    await cancelCampaign(c, campaign.campaignId);
    expect((await runCli(['list', 'delete', 'to-delete'], env.env)).code).toBe(0);
    const shown = await runCli(['list', 'show', 'to-delete'], env.env);
    expect(shown.stdout).toContain('to-delete (deleted)');
    expect(shown.stdout).toContain('rows 2: accepted 1, rejected 1');
    expect(shown.stdout).toContain('rejected rows: report deleted with the list');
    const again = await cliJson('list', 'delete', 'to-delete');
    expect(again).toMatchObject({ code: 2, json: { error: { code: 'not_found', message: expect.stringMatching(/^contact list "to-delete" \(.+\) is already deleted$/) } } });
    expect(await cliJson('list', 'delete', 'nope')).toEqual({
      code: 2, json: { error: { code: 'not_found', message: 'no contact list named or with id "nope"' } },
    });
  }, 60_000);
});
