/** The simulator's state: options, counters, rate windows, sessions, OTPs, faults and timers. */
import type { ServerResponse } from 'node:http';
import { AcceptedLog } from './accepted-log';
import { CallbackPusher } from './callbacks';
import type { Session } from './delivery';
import { applyPatch, type SimulatorOptions } from './options';
import { OtpStore } from './otp-store';
import { SessionStore } from './session-store';
import { SlidingWindow } from './sliding-window';
import { StatsCounters, type SimulatorStats } from './stats';

export const INVALID_KEY = 'Invalid API Key - No Account Exists';

export class Simulator {
  opts: SimulatorOptions;
  counters = new StatsCounters();
  readonly sessions = new SessionStore();
  readonly otps = new OtpStore();
  readonly callbacks: CallbackPusher;
  private windows = new Map<string, SlidingWindow>();
  private log: AcceptedLog | null = null;
  private readonly held = new Set<ServerResponse>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(opts: SimulatorOptions) {
    this.opts = opts;
    this.openLog();
    this.callbacks = new CallbackPusher(
      () => this.opts.callbackUrl,
      (ok) => {
        if (ok) this.counters.callbacks.sent++;
        else this.counters.callbacks.failed++;
      },
    );
  }

  /** Per-key sliding-window admission (sends always; V1 calls too when rateScope is 'all'). */
  admit(key: string, now: number): boolean {
    if (this.opts.rate === null) return true;
    let w = this.windows.get(key);
    if (!w) this.windows.set(key, (w = new SlidingWindow()));
    return w.tryAdd(now, this.opts.rate);
  }

  keyValid(key: string): boolean {
    const from = this.opts.invalidKeyFromRequest;
    return key === this.opts.apiKey && !(from !== null && this.counters.apiRequests >= from);
  }

  /** Takes `cost` credits; false when the balance cannot cover it (nothing is taken then). */
  charge(cost: number): boolean {
    if (this.opts.balance === null) return true;
    if (this.opts.balance < cost) return false;
    this.opts = { ...this.opts, balance: this.opts.balance - cost };
    return true;
  }

  roll(share: number): boolean {
    return share > 0 && Math.random() < share;
  }

  /** Answer after the configured latency (uniform in [min, max]). */
  later(fn: () => void): void {
    const [min, max] = this.opts.latencyMs;
    const ms = max === 0 ? 0 : min + Math.random() * (max - min);
    if (ms < 1) {
      fn();
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** Never answer: the client has to give up (its socket is destroyed on close). */
  hold(res: ServerResponse): void {
    this.held.add(res);
    res.on('close', () => this.held.delete(res));
  }

  record(session: Session): void {
    // Reports are dropped reportRetentionMs after they turn final, so a long-running simulator does not grow forever.
    this.sessions.add(session, this.opts.reportRetentionMs);
    this.callbacks.schedule(session, Math.max(0, session.finalAt - Date.now()));
  }

  /** `digest`: the text's SHA-1, logged as its first 16 base64url characters. */
  writeLog(recipients: readonly string[], digest: Buffer, sessionId: string): void {
    this.log?.write(recipients, digest.toString('base64url').slice(0, 16), sessionId);
  }

  stats(): SimulatorStats {
    return this.counters.snapshot(this.opts.balance, this.otps.live(Date.now()));
  }

  configure(patch: unknown): void {
    const next = applyPatch(this.opts, patch);
    const logChanged = next.logPath !== this.opts.logPath;
    this.opts = next;
    if (logChanged) {
      void this.log?.close();
      this.openLog();
    }
  }

  /** Clears counters and rate windows (sessions and OTPs stay so in-flight flows can finish). */
  reset(): void {
    this.counters = new StatsCounters();
    this.windows = new Map();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const res of this.held) res.destroy();
    this.held.clear();
    await this.callbacks.close();
    await this.log?.close();
  }

  private openLog(): void {
    this.log = this.opts.logPath ? new AcceptedLog(this.opts.logPath) : null;
  }
}
