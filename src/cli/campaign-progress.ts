/**
 * Live campaign progress for `send`, `demo` and `campaign status --watch`: per-status counts, current rate and
 * ETA. A cli-progress bar on a TTY (stderr); a plain line every few seconds otherwise (CI logs, pipes).
 */
import { MultiBar, Presets } from 'cli-progress';
import type { CampaignStatusView } from '../sending/campaign-control';

export interface ProgressView {
  update(status: CampaignStatusView): void;
  stop(): void;
}

/** Messages that need no more sending work (the bar's "done"). */
export function settledCount(s: CampaignStatusView): number {
  const c = s.counts;
  return c.sent + c.delivered + c.failed + c.unknown + c.suppressed + c.cancelled;
}

/** Rate over a sliding window of samples, and the ETA it implies. Pure. */
export class RateMeter {
  private readonly samples: { t: number; done: number }[] = [];

  constructor(private readonly windowMs = 5000) {}

  /** Records a sample and returns the rate (items/s) over the window. */
  add(t: number, done: number): number {
    this.samples.push({ t, done });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    return dt > 0 ? (done - first.done) / dt : 0;
  }

  eta(done: number, total: number, rate: number): number | null {
    if (rate <= 0) return null;
    return Math.max(0, Math.round((total - done) / rate));
  }
}

export function formatEta(seconds: number | null): string {
  if (seconds === null) return '--';
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

function describe(s: CampaignStatusView, rate: number, eta: number | null): Record<string, string | number> {
  const c = s.counts;
  return {
    status: s.status,
    pending: c.pending + c.queued,
    sending: c.sending,
    sent: c.sent,
    delivered: c.delivered,
    failed: c.failed,
    unknown: c.unknown,
    suppressed: c.suppressed,
    rate: rate.toFixed(0),
    // Not `eta`: cli-progress puts its own `{eta}` (whole seconds, "NULL" before its first estimate) over a
    // payload key of that name, so the bar showed "ETA NULL" and "ETA 125" instead of "--" and "2m05s".
    etaText: formatEta(eta),
  };
}

export function createProgressView(opts: { enabled: boolean; stream?: NodeJS.WriteStream; now?: () => number }): ProgressView {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? Date.now;
  const meter = new RateMeter();
  if (!opts.enabled) return { update: () => undefined, stop: () => undefined };
  if (stream.isTTY) {
    const multi = new MultiBar(
      {
        stream,
        hideCursor: true,
        clearOnComplete: false,
        format:
          'sending [{bar}] {percentage}% | {value}/{total} | sent {sent} delivered {delivered} failed {failed} unknown {unknown} | {rate}/s | ETA {etaText}',
      },
      Presets.shades_classic,
    );
    let bar: ReturnType<MultiBar['create']> | null = null;
    return {
      update(s) {
        const done = settledCount(s);
        const rate = meter.add(now(), done);
        const eta = meter.eta(done, s.total, rate);
        if (!bar) bar = multi.create(Math.max(1, s.total), done, describe(s, rate, eta));
        bar.setTotal(Math.max(1, s.total));
        bar.update(done, describe(s, rate, eta));
      },
      stop: () => multi.stop(),
    };
  }
  let lastLine = 0;
  return {
    update(s) {
      const done = settledCount(s);
      const rate = meter.add(now(), done);
      if (now() - lastLine < 5000 && done < s.total) return;
      lastLine = now();
      const d = describe(s, rate, meter.eta(done, s.total, rate));
      stream.write(
        `${s.status}: ${done}/${s.total} settled | sent ${d.sent} delivered ${d.delivered} failed ${d.failed} unknown ${d.unknown} | ${d.rate}/s | ETA ${d.etaText}\n`,
      );
    },
    stop: () => undefined,
  };
}
