import { firstFiringOutsideWindow, formatWallClock, parseAt, parseCron } from '../../../src/campaign/schedule-input';
import { ValidationError } from '../../../src/errors';

describe('parseAt', () => {
  it('reads a zone-less time as Asia/Kolkata by default', () => {
    expect(parseAt('2026-12-01T10:30').toISOString()).toBe('2026-12-01T05:00:00.000Z');
    expect(parseAt('2026-12-01 10:30:15.5').toISOString()).toBe('2026-12-01T05:00:15.500Z');
  });

  it('honours an explicit zone or offset', () => {
    expect(parseAt('2026-12-01T10:30:00Z').toISOString()).toBe('2026-12-01T10:30:00.000Z');
    expect(parseAt('2026-12-01T10:30:00+05:30').toISOString()).toBe('2026-12-01T05:00:00.000Z');
    expect(parseAt('2026-12-01T10:30:00-0100').toISOString()).toBe('2026-12-01T11:30:00.000Z');
  });

  it.each(['+99:99', '+05:60', '+14:01', '-15:00'])('refuses the impossible UTC offset %s', (offset) => {
    expect(() => parseAt(`2026-12-01T10:30${offset}`)).toThrow(/is not a UTC offset/);
  });

  it('accepts the extreme real offsets', () => {
    expect(parseAt('2026-12-01T10:30+14:00').toISOString()).toBe('2026-11-30T20:30:00.000Z');
    expect(parseAt('2026-12-01T10:30-12:00').toISOString()).toBe('2026-12-01T22:30:00.000Z');
  });

  it('honours --tz for zone-less input, including DST zones', () => {
    expect(parseAt('2026-07-01T09:00', 'Europe/London').toISOString()).toBe('2026-07-01T08:00:00.000Z');
    expect(parseAt('2026-12-01T09:00', 'Europe/London').toISOString()).toBe('2026-12-01T09:00:00.000Z');
  });

  it('rejects garbage, impossible dates and unknown zones', () => {
    expect(() => parseAt('tomorrow')).toThrow(/^at: "tomorrow" is not an ISO-8601/);
    expect(() => parseAt('2026-02-30T10:00')).toThrow(/not a valid calendar/);
    expect(() => parseAt('2026-12-01T10:00', 'Mars/Olympus')).toThrow(ValidationError);
  });
});

describe('parseCron', () => {
  const now = new Date('2026-11-26T00:00:00Z');
  it('returns the next firing in the zone', () => {
    // 10:00 IST = 04:30 UTC
    expect(parseCron('0 10 * * *', 'Asia/Kolkata', now).toISOString()).toBe('2026-11-26T04:30:00.000Z');
    expect(parseCron('*/10 * * * * *', 'Asia/Kolkata', now).toISOString()).toBe('2026-11-26T00:00:10.000Z');
  });

  it('rejects bad expressions with the field problem', () => {
    expect(() => parseCron('61 * * * *')).toThrow(/^cron: "61 \* \* \* \*" is not a valid cron expression/);
    expect(() => parseCron('* * *')).toThrow(/must have 5 fields/);
  });
});

describe('firstFiringOutsideWindow (promotional cron)', () => {
  const now = new Date('2026-11-26T00:00:00Z'); // 05:30 IST
  it.each<[string, string, string | null]>([
    ['0 22 * * *', 'Asia/Kolkata', '2026-11-26T16:30:00.000Z'], // 22:00 IST
    ['30 20 * * *', 'Asia/Kolkata', null],
    ['0 9-20 * * *', 'Asia/Kolkata', null],
    ['0 * * * *', 'Asia/Kolkata', '2026-11-26T00:30:00.000Z'], // 06:00 IST, the first hourly firing
    ['0 10 * * 1', 'Asia/Kolkata', null], // weekly, inside
    ['0 23 * * 0', 'Asia/Kolkata', '2026-11-29T17:30:00.000Z'], // weekly, Sunday 23:00 IST
    ['0 10 * * *', 'America/New_York', null], // 20:30 IST
    ['0 12 * * *', 'America/New_York', '2026-11-26T17:00:00.000Z'], // 22:30 IST
    ['0 22 15 * *', 'Asia/Kolkata', '2026-12-15T16:30:00.000Z'], // monthly, beyond the week ahead
    ['0 10 15 * *', 'Asia/Kolkata', null],
  ])('%s in %s', (cron, tz, expected) => {
    expect(firstFiringOutsideWindow(cron, tz, now)?.toISOString() ?? null).toBe(expected);
  });

  it('finds the 21:00 firing of an every-second cron that starts in the window', () => {
    const tenIst = new Date('2026-11-26T04:30:00Z');
    expect(firstFiringOutsideWindow('* * * * * *', 'Asia/Kolkata', tenIst)?.toISOString()).toBe('2026-11-26T15:30:00.000Z');
  });
});

describe('formatWallClock', () => {
  it('shows an instant as the wall-clock time of the zone it was typed in', () => {
    expect(formatWallClock(parseAt('2026-12-01T10:00', 'Asia/Kolkata'), 'Asia/Kolkata')).toBe('2026-12-01 10:00 Asia/Kolkata');
    expect(formatWallClock(new Date('2026-12-01T04:30:00Z'))).toBe('2026-12-01 10:00 Asia/Kolkata');
    expect(formatWallClock(new Date('2026-12-31T19:00:00Z'), 'Asia/Kolkata')).toBe('2027-01-01 00:30 Asia/Kolkata');
  });

  it('keeps seconds when there are any, and follows daylight saving time', () => {
    expect(formatWallClock(parseAt('2026-12-01T10:00:05', 'Asia/Kolkata'), 'Asia/Kolkata')).toBe('2026-12-01 10:00:05 Asia/Kolkata');
    expect(formatWallClock(new Date('2026-07-01T14:00:00Z'), 'America/New_York')).toBe('2026-07-01 10:00 America/New_York');
    expect(formatWallClock(new Date('2026-12-01T15:00:00Z'), 'America/New_York')).toBe('2026-12-01 10:00 America/New_York');
  });
});

