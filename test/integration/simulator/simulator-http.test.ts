/** Simulator extras over real HTTP: push callbacks, admin endpoints, JSONL log, 2Factor-shaped answers. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server';
import { waitFor } from '../../helpers/provider';

const KEY = 'http-key-9a8b7c6d-5e4f-3a2b-1c0d-e9f8a7b6c5d4';
let sim: RunningSimulator;
let receiver: Server;
const received: URLSearchParams[] = [];
const dir = mkdtempSync(join(tmpdir(), 'bulksms-sim-'));

const send = (params: Record<string, string>, method: 'POST' | 'GET' = 'POST'): Promise<Response> => {
  const body = new URLSearchParams({ module: 'TRANS_SMS', apikey: KEY, from: 'ACMEIN', ...params });
  return method === 'POST'
    ? fetch(`${sim.url}/API/R1/`, { method, body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    : fetch(`${sim.url}/API/R1/?${body.toString()}`);
};

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(new URLSearchParams(body));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  sim = await startSimulator({ apiKey: KEY, rate: null, logPath: join(dir, 'accepted.jsonl') });
});
afterAll(async () => {
  await sim.close();
  await new Promise<void>((r) => receiver.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

it('pushes one form callback per recipient with the Dial2Verify fields once the report is final', async () => {
  const { port } = receiver.address() as AddressInfo;
  sim.configure({ callbackUrl: `http://127.0.0.1:${port}/dlr`, dlrDelayMs: 100, dltRejectRate: 1 });
  const res = await send({ to: '919876543210,918765432109', msg: 'hello' });
  const { Details: sessionId } = (await res.json()) as { Details: string };
  expect(received).toHaveLength(0);
  await waitFor(() => received.length === 2);
  const fields = received.map((p) => Object.fromEntries(p));
  expect(fields.map((f) => f.SmsTo).sort()).toEqual(['918765432109', '919876543210']);
  for (const f of fields) {
    expect(f).toMatchObject({ SessionId: sessionId, SmsStatus: 'DLT-CNT-REJECT', ErrorPermanent: 'true' });
    expect(Object.keys(f).sort()).toEqual(
      ['ErrorDescription', 'ErrorGroupId', 'ErrorGroupName', 'ErrorId', 'ErrorName', 'ErrorPermanent', 'SessionId', 'SmsStatus', 'SmsTo', 'StatusDescription', 'StatusGroupId', 'StatusGroupName', 'StatusId'].sort(),
    );
  }
  await waitFor(() => sim.stats().callbacks.sent === 2);
  sim.configure({ callbackUrl: null, dlrDelayMs: 0, dltRejectRate: 0 });
});

it('answers errors as HTTP 200 envelopes, accepts GET with query parameters too', async () => {
  const bad = await send({ to: '12', msg: 'x' });
  expect(bad.status).toBe(200);
  expect(await bad.json()).toEqual({ Status: 'Error', Details: 'Invalid Phone Number - Length Mismatch(Expected: 10)' });
  const noText = await send({ to: '9876543210' });
  expect(await noText.json()).toEqual({ Status: 'Error', Details: 'Missing templatename value' });
  const viaGet = await send({ to: '9876543210', msg: 'x' }, 'GET');
  expect(await viaGet.json()).toMatchObject({ Status: 'Success' });
});

it('writes accepted recipients to the JSONL log', async () => {
  const res = await send({ to: '+919000000001,919000000002', msg: 'logged' });
  const { Details: sessionId } = (await res.json()) as { Details: string };
  await waitFor(() => readFileSync(join(dir, 'accepted.jsonl'), 'utf8').includes(sessionId));
  const lines = readFileSync(join(dir, 'accepted.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  const mine = lines.filter((l) => l.sessionId === sessionId);
  expect(mine.map((l) => l.to)).toEqual(['919000000001', '919000000002']);
  expect(mine[0]).toEqual({ t: expect.any(String), to: '919000000001', hash: expect.any(String), sessionId });
});

it('GET /__stats, POST /__config (validated, key hidden) and POST /__reset', async () => {
  const cfg = await fetch(`${sim.url}/__config`, { method: 'POST', body: JSON.stringify({ balance: 5 }) });
  expect(cfg.status).toBe(200);
  const visible = (await cfg.json()) as Record<string, unknown>;
  expect(visible.balance).toBe(5);
  expect(JSON.stringify(visible)).not.toContain(KEY);
  const rejected = await fetch(`${sim.url}/__config`, { method: 'POST', body: JSON.stringify({ balance: -1 }) });
  expect(rejected.status).toBe(400);
  expect(((await (await fetch(`${sim.url}/__stats`)).json()) as { balance: number }).balance).toBe(5);
  await send({ to: '9876543210', msg: 'x' });
  expect(sim.stats().requests).toBeGreaterThan(0);
  const reset = (await (await fetch(`${sim.url}/__reset`, { method: 'POST' })).json()) as Record<string, unknown>;
  expect(reset).toMatchObject({ requests: 0, accepted: 0, acceptedRecipients: 0, duplicates: 0, maxWindow: 0, arrivalSpanMs: 0, throttled: 0, errors: {}, balance: 4 });
});

it('the OTP mismatch answer is HTTP 400 with the real text', async () => {
  const sent = (await (await fetch(`${sim.url}/API/V1/${KEY}/SMS/9876543210/AUTOGEN`)).json()) as { Details: string };
  const otp = sim.stats().otps[sent.Details]!;
  const wrong = otp === '000000' ? '111111' : '000000';
  const res = await fetch(`${sim.url}/API/V1/${KEY}/SMS/VERIFY/${sent.Details}/${wrong}`);
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({ Status: 'Error', Details: 'OTP Mismatch' });
  const ok = await fetch(`${sim.url}/API/V1/${KEY}/SMS/VERIFY/${sent.Details}/${otp}`);
  expect(await ok.json()).toEqual({ Status: 'Success', Details: 'OTP Matched' });
});

it('keeps a final delivery report for reportRetentionMs, then forgets it (checked when a later send arrives)', async () => {
  const report = (id: string) => fetch(`${sim.url}/API/V1/${KEY}/ADDON_SERVICES/RPT/TSMS/${id}`).then((r) => r.text());
  const sessionOf = async (res: Promise<Response>) => ((await (await res).json()) as { Details: string }).Details;
  sim.configure({ reportRetentionMs: 50 });
  const first = await sessionOf(send({ to: '919876543210', msg: 'kept a while' }));
  await send({ to: '919876543211', msg: 'next' }); // right away: the first is still within its retention
  expect(await report(first)).toContain('<smsTo>919876543210</smsTo>');
  await new Promise((r) => setTimeout(r, 80));
  await send({ to: '919876543212', msg: 'later' }); // 80 ms after the first turned final: it is dropped
  expect(await report(first)).toContain('<logStatus>Invalid</logStatus>');
  sim.configure({ reportRetentionMs: 6 * 60 * 60 * 1000 });
});

it('limits a request body to 1 MiB of bytes, not of characters (Hindi is 3 bytes a character)', async () => {
  // Sent unescaped (as a lax client may): 400k characters, 1.2 MB as UTF-8 — over the limit in bytes only.
  const body = `module=TRANS_SMS&apikey=${KEY}&from=ACMEIN&to=919876543210&msg=${'न'.repeat(400_000)}`;
  const res = await fetch(`${sim.url}/API/R1/`, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  expect(res.status).toBe(413);
  // Just under the limit in characters and in bytes: still a send.
  const ok = await send({ to: '919876543210', msg: 'नमस्ते' });
  expect(((await ok.json()) as { Status: string }).Status).toBe('Success');
});
