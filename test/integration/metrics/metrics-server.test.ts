import { request } from 'undici';
import { importRows, sendLatency } from '../../../src/metrics';
import { startMetricsServer } from '../../../src/metrics-server';

describe('standalone metrics endpoint', () => {
  it('serves the shared registry on /metrics and 404 elsewhere', async () => {
    const server = await startMetricsServer({ port: 0 });
    try {
      importRows.inc({ result: 'rejected' }, 7);
      sendLatency.observe({ outcome: 'accepted' }, 0.25);
      const res = await request(`http://127.0.0.1:${server.port}/metrics`);
      expect(res.statusCode).toBe(200);
      const text = await res.body.text();
      expect(text).toMatch(/^bulksms_import_rows_total\{result="rejected"\} 7$/m);
      expect(text).toMatch(/^bulksms_send_latency_seconds_bucket\{le="0.3",outcome="accepted"\} 1$/m);
      const other = await request(`http://127.0.0.1:${server.port}/`);
      expect(other.statusCode).toBe(404);
      await other.body.dump();
    } finally {
      await server.close();
    }
  });
});
