import { isWithinWindow, maySendAt, nextWindowClose, nextWindowOpen } from '../../../src/campaign/send-window';

const ist = (s: string): Date => new Date(`${s}+05:30`);

describe('TRAI promotional window (09:00–21:00 Asia/Kolkata)', () => {
  it.each([
    ['2026-11-26T08:59:59.999', false],
    ['2026-11-26T09:00:00.000', true],
    ['2026-11-26T13:30:00.000', true],
    ['2026-11-26T20:59:59.999', true],
    ['2026-11-26T21:00:00.000', false],
    ['2026-11-26T23:59:00.000', false],
    ['2026-11-27T00:00:00.000', false],
    ['2026-11-27T03:00:00.000', false],
  ])('%s IST within window: %s', (when, expected) => {
    expect(isWithinWindow(ist(when))).toBe(expected);
  });

  it('uses IST, not the UTC day: 03:29 UTC is 08:59 IST, 03:30 UTC is 09:00 IST', () => {
    expect(isWithinWindow(new Date('2026-11-26T03:29:00Z'))).toBe(false);
    expect(isWithinWindow(new Date('2026-11-26T03:30:00Z'))).toBe(true);
    expect(isWithinWindow(new Date('2026-11-26T15:29:59Z'))).toBe(true);
    expect(isWithinWindow(new Date('2026-11-26T15:30:00Z'))).toBe(false);
  });

  it('finds the next opening', () => {
    expect(nextWindowOpen(ist('2026-11-26T07:00:00'))).toEqual(ist('2026-11-26T09:00:00'));
    expect(nextWindowOpen(ist('2026-11-26T09:00:00'))).toEqual(ist('2026-11-27T09:00:00'));
    expect(nextWindowOpen(ist('2026-11-26T21:00:00'))).toEqual(ist('2026-11-27T09:00:00'));
    expect(nextWindowOpen(ist('2026-11-26T23:50:00'))).toEqual(ist('2026-11-27T09:00:00'));
    expect(nextWindowOpen(ist('2026-12-31T22:00:00'))).toEqual(ist('2027-01-01T09:00:00'));
  });

  it('finds the next closing', () => {
    expect(nextWindowClose(ist('2026-11-26T10:00:00'))).toEqual(ist('2026-11-26T21:00:00'));
    expect(nextWindowClose(ist('2026-11-26T21:00:00'))).toEqual(ist('2026-11-27T21:00:00'));
    expect(nextWindowClose(ist('2026-11-26T02:00:00'))).toEqual(ist('2026-11-26T21:00:00'));
  });

  it('restricts promotional campaigns only', () => {
    const night = ist('2026-11-26T22:00:00');
    expect(maySendAt('promotional', night)).toBe(false);
    expect(maySendAt('transactional', night)).toBe(true);
  });
});
