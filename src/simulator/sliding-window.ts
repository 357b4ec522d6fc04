/**
 * Counts events in a sliding 1-second window (not fixed buckets: a burst straddling a second boundary is
 * still seen as one burst). An event at time t is inside the window for now ∈ [t, t + span).
 *
 * Events may be recorded slightly out of time order: a send is stamped when its headers arrive but recorded once
 * its body is read, and a V1 call arriving in between is recorded first. Times are therefore kept sorted (an
 * out-of-order event is inserted in place, near the end) and windows are counted by position, not by dropping
 * from the head — which, fed out of order, dropped events a window still held and hid requests over the limit.
 */
export class SlidingWindow {
  private times: number[] = [];
  private head = 0;
  private latest = -Infinity;

  constructor(private readonly spanMs = 1000) {}

  /** Events inside the window ending at `now`: times in (now − span, now]. */
  count(now: number): number {
    this.prune();
    return this.upper(now) - this.upper(now - this.spanMs);
  }

  /** Records an event; returns the number of events in the fullest window that holds it (for maxWindow). */
  add(t: number): number {
    this.insert(t);
    // Windows holding t end in [t, t + span); the fullest ends at an event time (t itself, or a later event).
    let fullest = 0;
    for (let i = this.upper(t) - 1; i < this.times.length && this.times[i]! < t + this.spanMs; i++) {
      fullest = Math.max(fullest, this.count(this.times[i]!));
    }
    return fullest;
  }

  /**
   * Admit the event if no window holding it would then hold more than `limit`; rejected events are not recorded.
   * Every window that holds it counts, not only the one ending at it: an event recorded after later ones (a send
   * stamped on arrival but recorded once its body is read, after a V1 call) also lands in the windows ending at
   * those, and judged on its own window alone it let a window go over the limit without a 429.
   */
  tryAdd(t: number, limit: number): boolean {
    if (this.count(t) >= limit) return false;
    if (t < this.latest && this.add(t) > limit) {
      this.remove(t);
      return false;
    }
    if (t >= this.latest) this.insert(t);
    return true;
  }

  /** Removes one event recorded at `t`. */
  private remove(t: number): void {
    const at = this.upper(t) - 1;
    if (at >= this.head && this.times[at] === t) this.times.splice(at, 1);
    this.latest = this.times.length > this.head ? this.times[this.times.length - 1]! : -Infinity;
  }

  private insert(t: number): void {
    if (t >= this.latest) {
      this.times.push(t);
      this.latest = t;
      return;
    }
    this.times.splice(this.upper(t), 0, t);
  }

  /** Index of the first live event later than `t`. */
  private upper(t: number): number {
    let lo = this.head;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Forgets events no window can hold any more (keeping one extra span for late-recorded events). */
  private prune(): void {
    const cutoff = this.latest - 2 * this.spanMs;
    while (this.head < this.times.length && this.times[this.head]! <= cutoff) this.head++;
    if (this.head > 4096 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}
