/**
 * Counts events in a sliding 1-second window (not fixed buckets: a burst straddling a second boundary is
 * still seen as one burst). An event at time t is inside the window for now ∈ [t, t + span).
 */
export class SlidingWindow {
  private times: number[] = [];
  private head = 0;

  constructor(private readonly spanMs = 1000) {}

  /** Events inside the window ending at `now`. */
  count(now: number): number {
    const cutoff = now - this.spanMs;
    while (this.head < this.times.length && this.times[this.head]! <= cutoff) this.head++;
    if (this.head > 4096 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  add(now: number): number {
    this.times.push(now);
    return this.count(now);
  }

  /** Admit the event if fewer than `limit` were admitted in the window; rejected events are not recorded. */
  tryAdd(now: number, limit: number): boolean {
    if (this.count(now) >= limit) return false;
    this.times.push(now);
    return true;
  }
}
