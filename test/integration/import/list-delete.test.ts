/**
 * Deleting a contact list (`bulksms list delete`, `DELETE /api/lists/:id`) against real PostgreSQL, Redis, the HTTP
 * API and the CLI: the refusals, a delete that keeps its finished campaign's history readable (and retryable), a
 * delete killed midway and run again, and the viewer's 403.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { useTestEnv } from '../../helpers/env';
import { runCli, runCliAndKill } from '../../helpers/cli';
import { TEST_API_TOKEN, http, startApi, type RunningApi } from '../../helpers/api-server';
import { wiredServices } from '../../../src/cli/commands/serve';
import { createToken } from '../../../src/access/tokens';
import { importContacts } from '../../../src/import/import-contacts';
import { claimListName } from '../../../src/import/list-store';
import { createCampaign } from '../../../src/campaign/campaign-service';
import { startCampaign } from '../../../src/sending/campaign-control';
import { refreshRunCounters } from '../../../src/sending/ledger';
import { archiveExpiredRuns } from '../../../src/archive/archive';
import { restoreArchive } from '../../../src/archive/restore';
import { runDigest } from '../../helpers/archive-fixtures';
import { BIN } from '../../helpers/cli';
import { LIST_DELETE_LOCK_CLASS } from '../../../src/db/advisory-locks';
import { spawn } from 'node:child_process';

// CLI subprocesses (tsx start-up is slow on a busy machine).
jest.setTimeout(120_000);
const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN, LIST_DELETE_BATCH: '40' });

/** `n` contacts with a name column, plus two rows the importer rejects (so the list has a reject report). */
function csv(n: number): string {
  const rows = Array.from({ length: n }, (_, i) => `98${String(10_000_000 + i)},Name ${i}`);
  return ['phone,name', ...rows, '12345,Too Short', 'abc,Not A Number', ''].join('\n');
}

async function importList(name: string, contacts: number) {
  return importContacts(env.container(), Readable.from([csv(contacts)]), { listName: name, fileName: `${name}.csv` });
}

async function newCampaign(list: string, name: string): Promise<string> {
  const created = await createCampaign(env.container(), { name, list, type: 'transactional', from: 'ACMEIN', text: 'Hi {{name}}' });
  return created.campaignId;
}

async function listRow(id: string) {
  const { rows } = await env.container().pg.query<{ name: string; status: string; contacts: number; reject_report_path: string | null }>(
    `SELECT name, status::text AS status, reject_report_path, (SELECT count(*)::int FROM contacts WHERE list_id = l.id) AS contacts
       FROM contact_lists l WHERE id = $1`,
    [id],
  );
  return rows[0];
}

interface ErrorBody {
  error: { code: string; message: string };
}

describe('deleting a contact list', () => {
  let api: RunningApi;
  let viewer: string;
  let operator: { token: string; tokenId: string };

  beforeAll(async () => {
    api = await startApi(env.container(), wiredServices(), { dashboard: false });
    env.cleanup(() => api.close());
    viewer = (await createToken(env.container(), { role: 'viewer' })).token;
    operator = await createToken(env.container(), { role: 'operator', name: 'ops' });
  });

  it('is refused while a campaign not yet finished uses the list, naming it (API 409, CLI exit 2), and to a viewer (403)', async () => {
    const c = env.container();
    const list = await importList('in-use', 5);
    const campaignId = await newCampaign('in-use', 'weekly');
    const refusals: { status: string; http: number; message: string }[] = [];
    for (const [status, cron] of [
      ['draft', null], ['scheduled', null], ['running', null], ['paused', null],
      // A cron campaign between two runs reads the list again at its next firing.
      ['completed', '0 11 * * 1'], ['failed', '0 11 * * 1'],
    ] as const) {
      await c.pg.query(`UPDATE campaigns SET status = $2::"CampaignStatus", cron = $3 WHERE id = $1`, [campaignId, status, cron]);
      const res = await http('DELETE', `${api.url}/api/lists/${list.listId}`, { token: operator.token });
      refusals.push({ status, http: res.status, message: res.json<ErrorBody>().error.message });
    }
    for (const r of refusals) {
      expect(r).toEqual({ status: r.status, http: 409, message: expect.stringContaining(`"weekly" (${campaignId}, ${r.status}`) as string });
    }
    expect(refusals[4]!.message).toContain('cron schedule still firing');

    await c.pg.query(`UPDATE campaigns SET status = 'running', cron = NULL WHERE id = $1`, [campaignId]);
    const cli = await runCli(['list', 'delete', 'in-use', '--json'], env.env);
    expect(cli.code).toBe(2);
    expect(JSON.parse(cli.stdout)).toEqual({ error: { code: 'conflict', message: expect.stringMatching(/used by campaign "weekly" .*running/) as string } });

    const forbidden = await http('DELETE', `${api.url}/api/lists/${list.listId}`, { token: viewer });
    expect(forbidden.status).toBe(403);
    // Nothing was touched by any refusal.
    expect(await listRow(list.listId)).toMatchObject({ status: 'ready', contacts: 5 });
    expect(existsSync(list.rejectReport!)).toBe(true);
  });

  it('is refused while the list is importing; a list whose importer died is failed, and deletable', async () => {
    const c = env.container();
    const { rows } = await c.pg.query<{ id: string }>(`INSERT INTO contact_lists (name, status) VALUES ('arriving', 'importing') RETURNING id`);
    const listId = rows[0]!.id;
    // A live importer holds its name's claim for its whole run.
    const importer = await c.pg.connect();
    const claim = (await claimListName(importer, 'arriving'))!;
    try {
      const res = await http('DELETE', `${api.url}/api/lists/${listId}`);
      expect(res.status).toBe(409);
      expect(res.json<ErrorBody>().error.message).toContain('is being imported');
    } finally {
      await claim.release();
      importer.release();
    }
    const res = await http('DELETE', `${api.url}/api/lists/${listId}`);
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ listId, outcome: 'removed', campaigns: 0, contactsRemoved: 0 });
    expect(await listRow(listId)).toBeUndefined();
  });

  it('answers at once for a list a live import is writing (its transaction holds the row), and leaves the import alone', async () => {
    const c = env.container();
    const file = new PassThrough();
    file.write('phone,name\n9810000001,A\n');
    const importing = importContacts(c, file, { listName: 'streaming', fileName: 'streaming.csv' });
    let listId: string | undefined;
    for (let waited = 0; !listId; waited += 50) {
      const { rows } = await c.pg.query<{ id: string }>(`SELECT id FROM contact_lists WHERE name = 'streaming'`);
      listId = rows[0]?.id;
      if (waited > 20_000) throw new Error('the import never created its list');
      await new Promise((r) => setTimeout(r, 50));
    }
    const started = Date.now();
    const res = await http('DELETE', `${api.url}/api/lists/${listId}`);
    expect({ status: res.status, message: res.json<ErrorBody>().error.message }).toEqual({ status: 409, message: 'list "streaming" is being imported; delete it when the import has finished' });
    expect(Date.now() - started).toBeLessThan(2000);
    file.end('9810000002,B\n');
    expect(await importing).toMatchObject({ listId, accepted: 2 });
  });

  it("deletes the contacts and report of a list whose campaign is finished; the campaign's history stays readable and retryable", async () => {
    const c = env.container();
    const list = await importList('diwali', 100);
    expect(existsSync(list.rejectReport!)).toBe(true);
    const campaignId = await newCampaign(list.listId, 'diwali-1');
    const { runId } = await startCampaign(c, campaignId, { force: true });
    // The run as a worker and the provider would leave it: most sent, some failed retryably, some for good.
    await c.pg.query(
      `UPDATE messages SET status = CASE WHEN id % 10 = 0 THEN 'failed'::"MessageStatus" WHEN id % 10 = 1 THEN 'failed' ELSE 'sent' END,
              outcome_class = CASE WHEN id % 10 = 0 THEN 'retryable'::"OutcomeClass" WHEN id % 10 = 1 THEN 'permanent_recipient' ELSE 'accepted' END,
              failure_reason = CASE WHEN id % 10 = 0 THEN 'provider busy' WHEN id % 10 = 1 THEN 'DND' END,
              session_id = 'sess-' || id, attempts = 1, sent_at = now()
        WHERE run_id = $1`,
      [runId],
    );
    await c.pg.query(`UPDATE campaign_runs SET status = 'completed', completed_at = now() WHERE id = $1`, [runId]);
    await c.pg.query(`UPDATE campaigns SET status = 'completed', completed_at = now() WHERE id = $1`, [campaignId]);
    await refreshRunCounters(c.pg, [runId]);

    const history = async () => ({
      campaign: (await http('GET', `${api.url}/api/campaigns/${campaignId}`)).json(),
      messages: (await http('GET', `${api.url}/api/campaigns/${campaignId}/messages?limit=500`)).json(),
      failures: await http('GET', `${api.url}/api/campaigns/${campaignId}/failures.csv`),
    });
    const before = await history();
    expect(before.failures.status).toBe(200);
    expect(before.failures.text.trim().split('\n').length).toBeGreaterThan(1);

    const res = await http('DELETE', `${api.url}/api/lists/${list.listId}`, { token: operator.token });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ listId: list.listId, name: 'diwali', contactsRemoved: 100, campaigns: 1, outcome: 'deleted', resumed: false });

    // The contacts and the report are gone, and the list is no longer offered.
    expect(await listRow(list.listId)).toEqual({ name: 'diwali', status: 'deleted', contacts: 0, reject_report_path: null });
    expect(existsSync(list.rejectReport!)).toBe(false);
    const lists = (await http('GET', `${api.url}/api/lists`)).json<{ items: { id: string }[] }>();
    expect(lists.items.map((l) => l.id)).not.toContain(list.listId);
    expect((await http('GET', `${api.url}/api/lists/${list.listId}/rejects.csv`)).status).toBe(404);

    // The campaign's status page, messages and failures export answer exactly as before.
    const after = await history();
    // Only the link to the list's row report is gone, with the report, and the campaign says its list was deleted.
    const beforeCampaign = before.campaign as { listStatus: string; listRejects: { rejected: number; url: string | null } };
    expect(after.campaign).toEqual({ ...beforeCampaign, listStatus: 'deleted', listRejects: { rejected: 2, url: null } });
    expect(beforeCampaign).toMatchObject({ listStatus: 'ready', listRejects: { url: `/api/lists/${list.listId}/rejects.csv` } });
    const index = (await http('GET', `${api.url}/api/campaigns?limit=100`)).json<{ items: { id: string; listStatus: string }[] }>();
    expect(index.items.find((i) => i.id === campaignId)).toMatchObject({ listStatus: 'deleted' });
    // And so do the command line's views of it, human and --json.
    const status = await runCli(['campaign', 'status', campaignId], env.env);
    expect(status.stdout.split('\n')[0]).toBe(`campaign "diwali-1" ${campaignId}: completed (list deleted)`);
    expect(JSON.parse((await runCli(['campaign', 'status', campaignId, '--json'], env.env)).stdout)).toMatchObject({ listStatus: 'deleted' });
    const listed = await runCli(['campaign', 'list', '--limit', '100'], env.env);
    expect(listed.stdout.split('\n').find((line) => line.startsWith(campaignId))).toMatch(/ completed \(list deleted\) /);
    const listedJson = JSON.parse((await runCli(['campaign', 'list', '--limit', '100', '--json'], env.env)).stdout) as { campaigns: { id: string; listStatus: string }[] };
    expect(listedJson.campaigns.find((i) => i.id === campaignId)).toMatchObject({ listStatus: 'deleted' });
    expect(after.messages).toEqual(before.messages);
    expect({ status: after.failures.status, text: after.failures.text }).toEqual({ status: 200, text: before.failures.text });

    // Audited: who, which list, how many contacts.
    const audit = await c.prisma.auditLog.findFirstOrThrow({ where: { action: 'list.delete' }, orderBy: { id: 'desc' } });
    expect(audit).toMatchObject({ tokenId: operator.tokenId, target: list.listId });
    expect(audit.details).toMatchObject({ name: 'diwali', contactsRemoved: 100, status: 200 });

    // A retry re-sends from the messages themselves (their own phone and text): no contact is needed.
    const retried = await http('POST', `${api.url}/api/campaigns/${campaignId}/retry`, { json: {} });
    expect(retried.status).toBe(200);
    expect(retried.json()).toMatchObject({ requeued: 10, status: 'running' });
    const { rows } = await c.pg.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM messages WHERE run_id = $1 AND status = 'pending' AND phone LIKE '+9198%' AND text LIKE 'Hi Name %'`,
      [runId],
    );
    expect(rows[0]!.n).toBe(10);

    // Nothing new can use it; deleting it again is a 404; its name is free for a new import.
    const create = await http('POST', `${api.url}/api/campaigns`, { json: { name: 'again', list: list.listId, type: 'transactional', from: 'ACMEIN', text: 'Hi' } });
    expect({ status: create.status, message: create.json<ErrorBody>().error.message }).toEqual({ status: 409, message: expect.stringContaining('is deleted') as string });
    expect((await http('DELETE', `${api.url}/api/lists/${list.listId}`)).status).toBe(404);
    const reimported = await importList('diwali', 3);
    expect(reimported.accepted).toBe(3);
    expect((await listRow(list.listId))!.name).toBe(`diwali (deleted ${list.listId})`);
  });

  it("archives and restores the runs of a deleted list's campaign exactly (messages keep their contact ids, which no key checks)", async () => {
    const c = env.container();
    const list = await importList('old-season', 30);
    const campaignId = await newCampaign('old-season', 'old-1');
    const { runId } = await startCampaign(c, campaignId, { force: true });
    await c.pg.query(`UPDATE messages SET status = 'delivered', sent_at = now(), delivered_at = now() WHERE run_id = $1`, [runId]);
    await c.pg.query(`UPDATE campaign_runs SET status = 'completed', completed_at = now() - interval '400 days' WHERE id = $1`, [runId]);
    await c.pg.query(`UPDATE campaigns SET status = 'completed', completed_at = now() - interval '400 days' WHERE id = $1`, [campaignId]);
    await refreshRunCounters(c.pg, [runId]);
    const before = await runDigest(c.pg, runId);
    expect(before.rows).toBe(30);

    expect((await http('DELETE', `${api.url}/api/lists/${list.listId}`)).status).toBe(200);
    const dest = await mkdtemp(path.join(os.tmpdir(), 'bulksms-list-delete-'));
    const archived = await archiveExpiredRuns(c, { dest });
    expect(archived.runIds).toContain(runId);
    expect((await runDigest(c.pg, runId)).rows).toBe(0);
    await restoreArchive(c, path.join(dest, 'manifest.json'));
    expect(await runDigest(c.pg, runId)).toEqual(before);
  });

  it('a campaign create racing the delete either blocks it or is refused: no campaign on a `deleting` list', async () => {
    const c = env.container();
    const list = await importList('racing', 20);
    // The delete's check-and-mark transaction, held open while a campaign create reads the list (still `ready` to it).
    const deleter = await c.pg.connect();
    try {
      await deleter.query('BEGIN');
      await deleter.query(`SELECT 1 FROM contact_lists WHERE id = $1 FOR UPDATE`, [list.listId]);
      await deleter.query(`UPDATE contact_lists SET status = 'deleting' WHERE id = $1`, [list.listId]);
      const create = newCampaign('racing', 'racer').then(
        (id) => ({ created: id }),
        (err: Error) => ({ refused: err.message }),
      );
      // Until the create waits on the list row's lock (its insert transaction), then the mark commits.
      for (let waited = 0; ; waited += 50) {
        const { rows } = await c.pg.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        if (rows[0]!.n > 0) break;
        if (waited > 20_000) throw new Error('the campaign create never waited for the list row');
        await new Promise((r) => setTimeout(r, 50));
      }
      await deleter.query('COMMIT');
      expect(await create).toEqual({ refused: 'list: contact list "racing" is deleting; only ready lists can be used' });
    } finally {
      deleter.release();
    }
    const { rows } = await c.pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM campaigns WHERE list_id = $1`, [list.listId]);
    expect(rows[0]!.n).toBe(0);
  });

  it('killed midway, the list stays `deleting` (nothing can use it) and the delete run again finishes it', async () => {
    const c = env.container();
    const list = await importList('big', 130);
    const killed = await runCliAndKill(['list', 'delete', 'big', '--json'], { ...env.env, LIST_DELETE_TEST_PAUSE: 'true' }, /list-delete-test-pause (\d+)/);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.match?.[1]).toBe('40');
    expect(await listRow(list.listId)).toMatchObject({ status: 'deleting', contacts: 90 });

    const create = await http('POST', `${api.url}/api/campaigns`, { json: { name: 'late', list: 'big', type: 'transactional', from: 'ACMEIN', text: 'Hi' } });
    expect(create.status).toBe(409);
    await expect(importList('big', 2)).rejects.toThrow(/is being deleted; run `bulksms list delete/);

    const rerun = await runCli(['list', 'delete', list.listId, '--json'], env.env);
    expect(rerun.code).toBe(0);
    expect(JSON.parse(rerun.stdout)).toEqual({ listId: list.listId, name: 'big', contactsRemoved: 90, campaigns: 0, outcome: 'removed', resumed: true, finishedElsewhere: false });
    expect(await listRow(list.listId)).toBeUndefined();
    expect(existsSync(list.rejectReport!)).toBe(false);
    const audit = await c.prisma.auditLog.findFirstOrThrow({ where: { action: 'list.delete', target: list.listId } });
    expect(audit.details).toMatchObject({ via: 'cli', name: 'big', contactsRemoved: 90, resumed: true });
  });

  it('stops between two batches when the API server closes (a SIGTERM to `bulksms serve`): 503, the list left `deleting` for a worker', async () => {
    const c = env.container();
    const list = await importList('big-on-close', 400);
    // Each batch (40 contacts) takes 300 ms: the delete is still going (~3 s) when the server is told to close.
    await c.pg.query(`CREATE OR REPLACE FUNCTION test_slow_contact_delete() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$`);
    await c.pg.query(`CREATE TRIGGER test_slow_contact_delete AFTER DELETE ON contacts FOR EACH STATEMENT EXECUTE FUNCTION test_slow_contact_delete()`);
    const closing = await startApi(c, wiredServices(), { dashboard: false });
    try {
      const deleting = http('DELETE', `${closing.url}/api/lists/${list.listId}`, { token: operator.token });
      for (const end = Date.now() + 20_000; Date.now() < end && (await listRow(list.listId))!.contacts === 400; ) await new Promise((r) => setTimeout(r, 20));
      await closing.close();
      const res = await deleting;
      expect(res.status).toBe(503);
      expect(res.json<ErrorBody>().error.message).toMatch(/stopped midway.*stays `deleting`.*bulksms worker/);
      // Its connection ends with the answer: kept alive for the client, it held the closing server for 72 s.
      expect(res.headers.connection).toBe('close');
    } finally {
      await c.pg.query(`DROP TRIGGER IF EXISTS test_slow_contact_delete ON contacts`);
    }
    const left = await listRow(list.listId);
    expect(left?.status).toBe('deleting');
    expect(left!.contacts).toBeGreaterThan(0);
    // Its lock released: the next delete (a worker's, or this one) carries on from there.
    const rerun = await http('DELETE', `${api.url}/api/lists/${list.listId}`, { token: operator.token });
    expect(rerun.status).toBe(200);
    expect(rerun.json()).toMatchObject({ contactsRemoved: left!.contacts, resumed: true });
  });

  /**
   * `bulksms list delete` of a list whose delete lock another process holds (a worker finishing it; here the test's
   * session, as the worker's finisher would): it waits, saying so, and reports what became of the list.
   */
  async function deleteWhileHeld(name: string, holder: (lock: import('pg').PoolClient, listId: string) => Promise<void>) {
    const c = env.container();
    const list = await importList(name, 100);
    await c.pg.query(`UPDATE contact_lists SET status = 'deleting' WHERE id = $1`, [list.listId]);
    const lock = await c.pg.connect();
    try {
      await lock.query('SELECT pg_advisory_lock($1, hashtext($2))', [LIST_DELETE_LOCK_CLASS, list.listId]);
      const child = spawn(process.execPath, [BIN, 'list', 'delete', name, '--json'], { env: { ...process.env, ...env.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      const waiting = /is being deleted by a worker or another delete right now; waiting for it to finish/;
      for (const end = Date.now() + 60_000; Date.now() < end && !waiting.test(stderr) && child.exitCode === null; ) await new Promise((r) => setTimeout(r, 50));
      expect(stderr).toMatch(waiting);
      await holder(lock, list.listId);
      await lock.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LIST_DELETE_LOCK_CLASS, list.listId]);
      return { list, code: await exited, out: JSON.parse(stdout) as Record<string, unknown> };
    } finally {
      lock.release();
    }
  }

  it('`list delete` of a list a worker is finishing waits for it and reports it deleted, with nothing left to do', async () => {
    const { list, code, out } = await deleteWhileHeld('finishing', async (lock, listId) => {
      await lock.query(`DELETE FROM contacts WHERE list_id = $1`, [listId]);
      await lock.query(`DELETE FROM contact_lists WHERE id = $1`, [listId]);
    });
    expect(code).toBe(0);
    expect(out).toEqual({ listId: list.listId, name: 'finishing', contactsRemoved: 0, campaigns: 0, outcome: 'removed', resumed: true, finishedElsewhere: true });
  });

  it('`list delete` of a list whose worker stopped midway (its lock released, the list still `deleting`) finishes it', async () => {
    const { list, code, out } = await deleteWhileHeld('left-midway', async () => undefined);
    expect(code).toBe(0);
    expect(out).toEqual({ listId: list.listId, name: 'left-midway', contactsRemoved: 100, campaigns: 0, outcome: 'removed', resumed: true, finishedElsewhere: false });
    expect(await listRow(list.listId)).toBeUndefined();
  });
});
