import { SlidingWindow } from '../../../src/simulator/sliding-window';

describe('SlidingWindow (1 s)', () => {
  it('admits a stream paced exactly at the limit, forever', () => {
    const w = new SlidingWindow();
    for (let i = 0; i < 100; i++) expect(w.tryAdd(i * 100, 10)).toBe(true);
  });

  it('rejects a burst above the limit and does not count the rejected events', () => {
    const w = new SlidingWindow();
    const admitted = Array.from({ length: 15 }, () => w.tryAdd(500, 10)).filter(Boolean).length;
    expect(admitted).toBe(10);
    expect(w.count(500)).toBe(10);
    expect(w.tryAdd(1499, 10)).toBe(false);
    expect(w.tryAdd(1500, 10)).toBe(true);
  });

  it('is sliding, not bucketed: a burst straddling a second boundary is one burst', () => {
    const w = new SlidingWindow();
    for (let i = 0; i < 10; i++) expect(w.tryAdd(950 + i, 10)).toBe(true);
    // A fixed 1-second bucket would reset at t=1000 and let 10 more through.
    expect(w.tryAdd(1010, 10)).toBe(false);
    expect(w.count(1010)).toBe(10);
  });

  it('add() reports the number of events in the window (for maxWindow)', () => {
    const w = new SlidingWindow();
    expect(w.add(0)).toBe(1);
    expect(w.add(999)).toBe(2);
    expect(w.add(1000)).toBe(2);
    expect(w.add(5000)).toBe(1);
  });

  it('stays correct after compaction of a long history', () => {
    const w = new SlidingWindow();
    for (let i = 0; i < 20_000; i++) w.add(i);
    expect(w.count(20_000)).toBe(999);
  });

  it('judges an event recorded late (out of time order) by the window at its own instant', () => {
    // Limit 2. Events at 0 and 10, then one at 1600; then one stamped 500 is recorded (its body arrived late).
    const w = new SlidingWindow();
    expect([w.tryAdd(0, 2), w.tryAdd(10, 2), w.tryAdd(1600, 2)]).toEqual([true, true, true]);
    expect(w.tryAdd(500, 2)).toBe(false); // the third in the second ending at 500
    expect(w.count(500)).toBe(2);
  });

  it('an event recorded late is refused when any window holding it would go over, not only its own', () => {
    // Limit 2: 500 and 1400 admitted; then one stamped 450 is recorded. The window ending at 450 holds one event,
    // but the one ending at 1400 would hold 450, 500 and 1400 — three.
    const w = new SlidingWindow();
    expect([w.tryAdd(500, 2), w.tryAdd(1400, 2)]).toEqual([true, true]);
    expect(w.tryAdd(450, 2)).toBe(false);
    expect(w.count(1400)).toBe(2);
    // One that fits every window holding it is admitted: the window ending at 500 holds 300 and 500, the one ending
    // at 1400 starts after 300.
    expect(w.tryAdd(300, 2)).toBe(true);
    const v = new SlidingWindow();
    expect([v.tryAdd(0, 2), v.tryAdd(1600, 2), v.tryAdd(500, 2)]).toEqual([true, true, true]);
    expect(v.count(500)).toBe(2); // 0 and the late 500
  });

  it('add() counts an event recorded late in the fullest window that holds it', () => {
    const w = new SlidingWindow();
    for (const t of [0, 100, 900, 1600]) w.add(t);
    expect(w.add(950)).toBe(4); // (−50, 950] holds 0, 100, 900 and 950
  });
});
