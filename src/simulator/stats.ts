/** Counters behind GET /__stats. Reset by POST /__reset. */
import { SlidingWindow } from './sliding-window';

export interface SimulatorStats {
  /** R1 send requests that arrived (throttled, failed and hung ones included). */
  requests: number;
  /** Every 2Factor API request (sends, balances, reports, OTP). */
  apiRequests: number;
  /** Send requests accepted (`Status: Success`). */
  accepted: number;
  acceptedRecipients: number;
  /** Accepted recipients that had already been accepted with the same text. */
  duplicates: number;
  /**
   * Most requests the rate limit counts (sends, and V1 calls when rateScope is 'all': balances, reports, OTP)
   * that arrived within any sliding 1-second window — the provider's view of the limit.
   */
  maxWindow: number;
  /** When the window holding `maxWindow` ended (epoch ms; null before any request): where to look for a burst. */
  maxWindowAt: number | null;
  /** Milliseconds between the first and the last send request since the last reset (achieved rate = requests / span). */
  arrivalSpanMs: number;
  /** Requests answered 429 (sends, and V1 calls when rateScope is 'all'). */
  throttled: number;
  /** Error answers by kind (invalid_key, balance, http_502, hang, invalid_number, ...). */
  errors: Record<string, number>;
  /** Credits left; null = unlimited. */
  balance: number | null;
  callbacks: { sent: number; failed: number };
  /** Live SMS-OTP sessions: session id → code, so tests can complete the flow. */
  otps: Record<string, string>;
}

export class StatsCounters {
  requests = 0;
  apiRequests = 0;
  accepted = 0;
  acceptedRecipients = 0;
  duplicates = 0;
  maxWindow = 0;
  maxWindowAt: number | null = null;
  throttled = 0;
  errors: Record<string, number> = {};
  callbacks = { sent: 0, failed: 0 };
  private arrivals = new SlidingWindow();
  private firstArrival: number | null = null;
  private lastArrival = 0;
  /**
   * Recipient (its digits as a number) → the texts accepted for it, as 48-bit hash prefixes: one number for
   * the usual single text. Numbers rather than strings and sets: every accepted request adds an entry that
   * lives as long as the run, and the simulator's heap is what its GC pauses (its clock's jitter) scale with.
   */
  private seen = new Map<number, number | number[]>();

  error(kind: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  /** A send request arrived (it counts towards the rate limit). */
  arrival(now: number): void {
    this.requests++;
    this.firstArrival ??= now;
    this.lastArrival = now;
    this.limited(now);
  }

  /** A request that counts towards the rate limit arrived. */
  limited(now: number): void {
    const inWindow = this.arrivals.add(now);
    if (inWindow > this.maxWindow) {
      this.maxWindow = inWindow;
      this.maxWindowAt = Math.round(performance.timeOrigin + now);
    }
  }

  /** `textKey`: a 48-bit prefix of the text's hash (textKeyOf). */
  accept(recipients: readonly string[], textKey: number): void {
    this.accepted++;
    this.acceptedRecipients += recipients.length;
    for (const to of recipients) {
      const who = Number(to); // recipients are normalised (91 + 10 digits) before they are accepted
      const texts = this.seen.get(who);
      if (texts === undefined) this.seen.set(who, textKey);
      else if (texts === textKey || (Array.isArray(texts) && texts.includes(textKey))) this.duplicates++;
      else this.seen.set(who, Array.isArray(texts) ? [...texts, textKey] : [texts, textKey]);
    }
  }

  snapshot(balance: number | null, otps: Record<string, string>): SimulatorStats {
    return {
      requests: this.requests,
      apiRequests: this.apiRequests,
      accepted: this.accepted,
      acceptedRecipients: this.acceptedRecipients,
      duplicates: this.duplicates,
      maxWindow: this.maxWindow,
      maxWindowAt: this.maxWindowAt,
      arrivalSpanMs: this.firstArrival === null ? 0 : Math.round((this.lastArrival - this.firstArrival) * 1000) / 1000,
      throttled: this.throttled,
      errors: { ...this.errors },
      balance,
      callbacks: { ...this.callbacks },
      otps,
    };
  }
}
