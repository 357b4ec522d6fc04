/**
 * Requests meant to hurt (found by the security review): uploads that never finish, malformed multipart bodies,
 * cookies and ids. Each gets a 4xx and leaves the API serving everyone else.
 */
import net from 'node:net';
import { request } from 'undici';
import { createToken } from '../../../src/access/tokens';
import { wiredServices } from '../../../src/cli/commands/serve';
import { useTestEnv } from '../../helpers/env';
import { seedCampaign } from '../../helpers/api-fixtures';
import { TEST_API_TOKEN, http, startApi, type RunningApi } from '../../helpers/api-server';
import { heldUpload } from '../../helpers/held-upload';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });

describe('hostile requests', () => {
  let api: RunningApi;
  let campaignId: string;
  beforeAll(async () => {
    api = await startApi(env.container(), wiredServices(), { dashboard: false, uploadIdleMs: 1500, maxConcurrentImports: 3 });
    ({ campaignId } = await seedCampaign(env.container(), [{ status: 'failed' }]));
  });
  afterAll(() => api.close());

  /** A multipart upload whose body stops before its closing boundary (Content-Length satisfied). */
  const stalledUpload = (name: string, signal: AbortSignal) =>
    request(`${api.url}/api/lists`, {
      method: 'POST',
      signal,
      headers: { authorization: `Bearer ${TEST_API_TOKEN}`, 'content-type': 'multipart/form-data; boundary=B' },
      body: `--B\r\nContent-Disposition: form-data; name="name"\r\n\r\n${name}\r\n--B\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nphone\n9876543210\n`,
    }).then(
      async (r) => ({ status: r.statusCode, body: await r.body.text() }),
      (e: Error) => ({ status: 0, body: e.name }),
    );

  const probe = () =>
    request(`${api.url}/api/campaigns/${campaignId}/failure-reasons`, { headers: { authorization: `Bearer ${TEST_API_TOKEN}` }, signal: AbortSignal.timeout(5000) }).then(
      (r) => r.statusCode,
      (e: Error) => e.name,
    );

  it.each([
    ['/health', 200],
    ['/docs/json', 200],
    ['/api/campaigns/not-a-uuid', 400],
    ['/no/such/route', 404],
  ])('%s (HTTP %s) says nosniff and refuses to be framed', async (path, status) => {
    const res = await http('GET', `${api.url}${path}`);
    expect(res.status).toBe(status);
    expect({ nosniff: res.headers['x-content-type-options'], frame: res.headers['x-frame-options'] }).toEqual({ nosniff: 'nosniff', frame: 'DENY' });
  });

  it('uploads that never finish cannot take the connection pool: capped, then ended after the idle time, lists failed', async () => {
    const stop = new AbortController();
    // Ten at once (the pool holds ten connections): three import, the rest are refused at once.
    const held = Array.from({ length: 10 }, (_v, i) => stalledUpload(`stalled-${i}`, stop.signal));
    await new Promise((r) => setTimeout(r, 500));
    expect(await probe()).toBe(200);
    const answers = await Promise.all(held);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(7);
    const timedOut = answers.filter((a) => a.status === 408);
    expect(timedOut).toHaveLength(3);
    expect(timedOut[0]!.body).toMatch(/stalled/);
    const lists = await env.container().prisma.contactList.findMany({ where: { name: { startsWith: 'stalled-' } } });
    expect(lists.map((l) => l.status)).toEqual(['failed', 'failed', 'failed']);
    expect(await probe()).toBe(200);
  }, 30_000);

  it('a body that stops right after the file part (before the next boundary ends) is ended too', async () => {
    const { answer, stop } = heldUpload(
      api.url,
      '--B\r\nContent-Disposition: form-data; name="name"\r\n\r\nafter-file\r\n--B\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\nphone\n9876543210\n\r\n--B\r\n',
    );
    // The server gives up on it (its answer waits behind the body undici is still sending): the import ends failed
    // and its connection is released.
    const status = async () => (await env.container().prisma.contactList.findUnique({ where: { name: 'after-file' } }))?.status;
    const deadline = Date.now() + 6000;
    while ((await status()) !== 'failed' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    stop();
    await answer;
    expect(await status()).toBe('failed');
  }, 30_000);

  it('an uploader that disconnects mid-file releases its import at once', async () => {
    const stop = new AbortController();
    const held = stalledUpload('gone-away', stop.signal);
    await new Promise((r) => setTimeout(r, 300));
    stop.abort();
    await held;
    await new Promise((r) => setTimeout(r, 300));
    const list = await env.container().prisma.contactList.findUnique({ where: { name: 'gone-away' } });
    expect(list?.status ?? 'none').not.toBe('importing');
    expect(env.container().pg.waitingCount).toBe(0);
  });

  it('a multipart body without a boundary → 400', async () => {
    const res = await http('POST', `${api.url}/api/lists`, { body: 'x', headers: { 'content-type': 'multipart/form-data' } });
    expect(res.status).toBe(400);
  });

  it('a malformed token cookie → 401, not 500', async () => {
    const res = await http('GET', `${api.url}/queues`, { token: null, headers: { cookie: 'bulksms_token=%E0%A4%A' } });
    expect(res.status).toBe(401);
  });

  // The router answers these before any hook: its own JSON shape, with the path (maybe the webhook's secret) in it.
  it.each([
    ['a malformed %-escape', '/api/campaigns/%E0%A4%A', 400, 'bad_url'],
    ['a malformed %-escape in the webhook path', '/webhooks/dlr/secret-0123456789abcdef%E0%A4%A', 400, 'bad_url'],
    ['a path segment over 100 characters', `/webhooks/dlr/secret-${'s'.repeat(100)}`, 414, 'uri_too_long'],
  ] as const)('a URL the router cannot take (%s) → the API error shape, without the path', async (_label, path, status, code) => {
    const res = await http('POST', `${api.url}${path}`, { token: null });
    const body = res.json<{ error: { code: string; message: string } }>();
    expect({ status: res.status, code: body.error.code, keys: Object.keys(body) }).toEqual({ status, code, keys: ['error'] });
    expect(body.error.message).not.toContain('secret-');
    expect(body.error.message).not.toContain('/api/');
  });

  // Answered before its body was read, a request whose body trickles in (a byte every 200 ms of the 100 kB announced)
  // held its connection as long as the client liked: no token, no secret, no limit.
  it.each([
    ['no token', 'POST /api/campaigns', ''],
    ['a wrong token', 'POST /api/campaigns', 'Authorization: Bearer wrong-token-0123456789\r\n'],
    ['the webhook, disabled here', 'POST /webhooks/dlr/wrong-secret-0123456789', ''],
    ['no such route', 'POST /no/such/route', ''],
    ['a public GET, its body never read', 'GET /health', ''],
  ])('a request answered before its body is in (%s), the body trickling, is answered and its connection closed', async (_label, request, header) => {
    const socket = net.connect(Number(new URL(api.url).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write(`${request} HTTP/1.1\r\nHost: x\r\n${header}Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`);
    const trickle = setInterval(() => socket.write(' '), 200);
    try {
      const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open after 3 s'), 3000))]);
      expect({ status: answer.split('\r\n', 1)[0], outcome }).toEqual({ status: expect.stringMatching(/^HTTP\/1\.1 \d{3} /), outcome: 'closed' });
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it('a challenge id that is not a UUID → 400, not 500', async () => {
    const { token } = await createToken(env.container(), { role: 'owner', phone: '+919876543210' });
    const res = await http('POST', `${api.url}/api/access/otp/verify`, { token, json: { challengeId: '-'.repeat(36), otp: '123456' } });
    expect(res.status).toBe(400);
  });

  it('lookups by phone number while phones are masked are limited and audited: guessing a masked number is impractical', async () => {
    const c = env.container();
    const secret = '+919812345678';
    const { campaignId: id } = await seedCampaign(c, [{ phone: secret, status: 'failed' }]);
    const { token, tokenId } = await createToken(c, { role: 'viewer' });
    // The budget is per minute: start well inside one.
    const toNextMinute = 60_000 - (Date.now() % 60_000);
    if (toNextMinute < 10_000) await new Promise((r) => setTimeout(r, toNextMinute + 100));
    const lookup = (phone: string) => http('GET', `${api.url}/api/campaigns/${id}/messages?phone=${encodeURIComponent(phone)}`, { token });
    // Support's use: the number is known, the answer shows the message (phone still masked).
    const found = await lookup(secret);
    expect(found.status).toBe(200);
    expect(found.json<{ items: { phone: string }[] }>().items.map((m) => m.phone)).toEqual(['+91******5678']);
    // The dashboard refreshing its filtered page: the same number again and again is one lookup.
    for (let n = 0; n < 30; n++) expect((await lookup(secret)).status).toBe(200);
    const statuses: number[] = [];
    for (let n = 0; n < 20; n++) statuses.push((await lookup(`+9198${1000 + n}5678`)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(19);
    expect(statuses.slice(-1)).toEqual([429]);
    // Numbers already asked for this minute still answer.
    expect((await lookup(secret)).status).toBe(200);
    const audited = await c.prisma.auditLog.findMany({ where: { tokenId, action: 'message.lookup' } });
    expect(audited).toHaveLength(20);
    expect(JSON.stringify(audited.map((a) => a.details))).not.toContain('12345678');
  }, 30_000);
});
