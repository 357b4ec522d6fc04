import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { startWireCapture } from '../../../scripts/lib/wire-capture';

// Runs where the suite runs (root, with tcpdump: .ci/run installs Debian's package).
describe('startWireCapture (real tcpdump on loopback)', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('counts the requests written to the port, each once, at the time they were written', async () => {
    const capture = await startWireCapture(port);
    expect(capture).not.toBeNull();
    const before = Date.now();
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 5; i++) {
      const res = await request(`${base}/API/R1/`, { method: 'POST', body: 'module=TRANS_SMS&to=919876543210', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      await res.body.text();
    }
    await (await request(`${base}/API/V1/key/ADDON_SERVICES/BAL/SMS`)).body.text();
    await (await request(`${base}/__stats`)).body.text(); // the simulator's own path: not the provider's
    const after = Date.now();
    const view = await capture!.stop();
    expect(view.requests).toBe(6);
    expect(view.maxWindow).toBe(6);
    expect(view.maxWindowAt).toBeGreaterThanOrEqual(before - 5);
    expect(view.maxWindowAt).toBeLessThanOrEqual(after + 5);
  });
});
