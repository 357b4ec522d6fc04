/** Pushes final delivery states to `callbackUrl` as form POSTs, one per recipient, when a session turns final. */
import { Agent, request } from 'undici';
import { callbackFields, type Session } from './delivery';

export class CallbackPusher {
  private readonly agent = new Agent({ connections: 16, headersTimeout: 10_000, bodyTimeout: 10_000 });
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly target: () => string | null,
    private readonly onResult: (ok: boolean) => void,
  ) {}

  schedule(session: Session, delayMs: number): void {
    if (!this.target()) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      for (const r of session.recipients) void this.push(callbackFields(session.id, r.to, r.final));
    }, delayMs);
    this.timers.add(timer);
  }

  private async push(fields: Record<string, string>): Promise<void> {
    const url = this.target();
    if (!url) return;
    try {
      const res = await request(url, {
        method: 'POST',
        body: new URLSearchParams(fields).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        dispatcher: this.agent,
      });
      await res.body.dump();
      this.onResult(res.statusCode < 300);
    } catch {
      this.onResult(false);
    }
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.agent.destroy();
  }
}
