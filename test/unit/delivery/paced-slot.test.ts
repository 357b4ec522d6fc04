import { pacedSlot } from '../../../src/delivery/paced-slot';

describe('pacedSlot', () => {
  it('waits for the reserved slot and never goes early', async () => {
    const reserved: number[] = [];
    const slot = pacedSlot({
      reserve: async () => {
        const firstAt = performance.now() + 30;
        reserved.push(firstAt);
        return { firstAt };
      },
    });
    await slot();
    // On a loaded machine a late wake-up takes another slot; whichever slot it used, it never went early.
    expect(performance.now()).toBeGreaterThanOrEqual(reserved[reserved.length - 1]!);
  });

  it('drops a slot it woke up for too late and takes a fresh one', async () => {
    let calls = 0;
    const slot = pacedSlot(
      {
        reserve: async () => {
          calls += 1;
          // First slot is already 50 ms in the past (as if the event loop was blocked), the second is on time.
          return { firstAt: calls === 1 ? performance.now() - 50 : performance.now() + 5 };
        },
      },
      { lateToleranceMs: 3 },
    );
    await slot();
    expect(calls).toBeGreaterThanOrEqual(2); // the late first slot was dropped (more if the box is overloaded)
  });

  it('gives up after too many late slots', async () => {
    const slot = pacedSlot({ reserve: async () => ({ firstAt: performance.now() - 100 }) }, { maxTries: 3 });
    await expect(slot()).rejects.toThrow(/no on-time request slot after 3 tries/);
  });
});
