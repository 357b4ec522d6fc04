/**
 * The demo's delivery-report receiver: the real HTTP API (`buildServer`, the `POST /webhooks/dlr/<secret>` route
 * that `bulksms serve` exposes) on a loopback port, counting the callbacks it applied and those that arrived
 * before their send outcome and were kept for it (src/delivery/early-reports.ts).
 */
import type { Container } from '../container';
import { buildServer } from '../api/server';
import { applyDeliveryCallback } from '../delivery/webhook';
import { wiredServices } from './commands/serve';

export interface DemoWebhookStats {
  received: number;
  /** Arrived before the send outcome was committed: kept, then applied when it landed. */
  early: number;
}

export interface DemoWebhook {
  url: string;
  stats(): DemoWebhookStats;
  close(): Promise<void>;
}

export async function startDemoWebhook(container: Container): Promise<DemoWebhook> {
  const stats: DemoWebhookStats = { received: 0, early: 0 };
  const app = await buildServer({
    container,
    services: {
      ...wiredServices(),
      applyDeliveryCallback: async (deps, fields) => {
        const result = await applyDeliveryCallback(deps, fields);
        stats.received += 1;
        if (result.parked) stats.early += 1;
        return result;
      },
    },
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, stats: () => ({ ...stats }), close: () => app.close() };
}
