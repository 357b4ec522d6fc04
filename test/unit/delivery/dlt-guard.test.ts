import { dltPauseReason, dltRejectsWarrantPause } from '../../../src/delivery/dlt-guard';

describe('dltRejectsWarrantPause', () => {
  it.each([
    [{ rejects: 20, wentOut: 20 }, true],
    [{ rejects: 20, wentOut: 40 }, true],
    [{ rejects: 19, wentOut: 19 }, false], // too few to judge
    [{ rejects: 20, wentOut: 41 }, false], // most reports delivered: single recipients' values, not the registration
    [{ rejects: 0, wentOut: 0 }, false],
  ])('%j → %s', (counts, pause) => {
    expect(dltRejectsWarrantPause(counts)).toBe(pause);
  });

  it('a stricter policy is honoured', () => {
    expect(dltRejectsWarrantPause({ rejects: 5, wentOut: 5 }, { minRejects: 5, minShare: 1 })).toBe(true);
    expect(dltRejectsWarrantPause({ rejects: 5, wentOut: 6 }, { minRejects: 5, minShare: 1 })).toBe(false);
  });

  it('the reason says how many and what to do', () => {
    expect(dltPauseReason({ rejects: 25, wentOut: 30 })).toMatch(/^DLT-CNT-REJECT: operators rejected 25 of 30 .*fix the registration, then resume$/);
  });
});
