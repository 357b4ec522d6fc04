/** What this process wrote to the provider, per sliding second, as the 2Factor client's real transport writes it. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpTransport } from '../../../src/provider/twofactor/http';
import { watchWrittenRequests } from '../../../src/provider/written-requests';

async function listen(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{"Status":"Success","Details":"x"}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('watchWrittenRequests', () => {
  it("counts this process's /API/ requests to the watched origin in the fullest second, and nothing else", async () => {
    const provider = await listen();
    const other = await listen();
    const toProvider = new HttpTransport({ baseUrl: provider.url, timeoutMs: 5_000, connections: 4 });
    const toOther = new HttpTransport({ baseUrl: other.url, timeoutMs: 5_000, connections: 4 });
    const watch = watchWrittenRequests(provider.url);
    try {
      const send = (t: HttpTransport, path: string) => t.request({ method: 'POST', path, body: 'a=b', contentType: 'application/x-www-form-urlencoded' });
      // 6 provider requests (4 at once, then 2), plus traffic the provider's limit does not count.
      await Promise.all([0, 1, 2, 3].map(() => send(toProvider, '/API/R1/')));
      await send(toProvider, '/API/V1/key/ADDON_SERVICES/BAL/TRANSACTIONAL_SMS');
      await send(toProvider, '/API/R1/');
      await send(toProvider, '/__stats');
      await send(toOther, '/API/R1/');
      expect(watch.maxWindow()).toBe(6);
      // Stopped, it counts no more.
      watch.stop();
      await send(toProvider, '/API/R1/');
      expect(watch.maxWindow()).toBe(6);
    } finally {
      watch.stop();
      await toProvider.close();
      await toOther.close();
      provider.server.close();
      other.server.close();
    }
  });
});
