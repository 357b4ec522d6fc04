/**
 * Parsing of the operator's schedule options (`--at`, `--cron`, `--tz`; `at`, `cron`, `tz` over HTTP). Pure apart
 * from `now`. An `--at` without a zone is wall-clock time in `--tz` (default Asia/Kolkata), because the operators
 * are in India. Errors name the input through the caller's namer (errors.ts InputNamer).
 */
import { CronExpressionParser } from 'cron-parser';
import { ValidationError } from '../errors';
import { isWithinWindow, nextWindowClose } from './send-window';

export const DEFAULT_TIMEZONE = 'Asia/Kolkata';

const ISO_LOCAL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;

export function assertTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz;
  } catch {
    throw new ValidationError((n) => `${n('tz')}: unknown time zone "${tz}" (use an IANA name such as Asia/Kolkata)`, 'tz');
  }
}

/** The wall-clock fields (year, month 1–12, day, hour 0–23, minute, second) of instant `utcMs` in `tz`. */
function wallClockFields(utcMs: number, tz: string): [number, number, number, number, number, number] {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(utcMs));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)!.value);
  return [get('year'), get('month'), get('day'), get('hour'), get('minute'), get('second')];
}

/** Offset (ms) of `tz` from UTC at instant `utcMs`. */
function zoneOffsetMs(utcMs: number, tz: string): number {
  const [year, month, day, hour, minute, second] = wallClockFields(utcMs, tz);
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/**
 * An instant as wall-clock time in `tz`, e.g. "2026-12-01 10:00 Asia/Kolkata" (seconds only when not zero): what the
 * operator typed with `--at`, shown back in their zone — the UTC instant alone made 10:00 IST read as 04:30.
 */
export function formatWallClock(at: Date, tz: string = DEFAULT_TIMEZONE): string {
  const [year, month, day, hour, minute, second] = wallClockFields(at.getTime(), tz);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${year}-${two(month)}-${two(day)} ${two(hour)}:${two(minute)}${second ? `:${two(second)}` : ''} ${tz}`;
}

/** Parses an ISO-8601 date-time; without `Z`/offset it is wall-clock time in `tz`. */
export function parseAt(value: string, tz: string = DEFAULT_TIMEZONE): Date {
  const m = ISO_LOCAL.exec(value.trim());
  if (!m) {
    throw new ValidationError(
      (n) => `${n('at')}: "${value}" is not an ISO-8601 date-time (e.g. 2026-12-01T10:30 or 2026-12-01T10:30:00+05:30)`,
      'at',
    );
  }
  const [, y, mo, d, h, mi, s = '0', ms = '0', zone] = m;
  const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms.padEnd(3, '0'))] as const;
  const wall = Date.UTC(...fields);
  const check = new Date(wall);
  if (check.getUTCMonth() !== fields[1] || check.getUTCDate() !== fields[2] || fields[3] > 23 || fields[4] > 59 || fields[5] > 59) {
    throw new ValidationError((n) => `${n('at')}: "${value}" is not a valid calendar date-time`, 'at');
  }
  if (zone) {
    if (zone.toUpperCase() === 'Z') return new Date(wall);
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2));
    // Real offsets run from −12:00 to +14:00 with minutes below 60: +99:99 was accepted as 4 days off.
    if (minutes > 59 || hours * 60 + minutes > 14 * 60) throw new ValidationError((n) => `${n('at')}: "${zone}" in "${value}" is not a UTC offset`, 'at');
    const offset = sign * (hours * 60 + minutes) * 60_000;
    return new Date(wall - offset);
  }
  assertTimeZone(tz);
  // Two passes settle the offset around DST changes (irrelevant for IST, needed for other zones).
  let utc = wall - zoneOffsetMs(wall, tz);
  utc = wall - zoneOffsetMs(utc, tz);
  return new Date(utc);
}

/** Validates a cron expression (5 fields, or 6 with seconds) in `tz`; returns its next firing after `now`. */
export function parseCron(expr: string, tz: string = DEFAULT_TIMEZONE, now: Date = new Date()): Date {
  assertTimeZone(tz);
  const fields = expr.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6) {
    throw new ValidationError((n) => `${n('cron')}: "${expr}" must have 5 fields (minute hour day month weekday) or 6 with seconds`, 'cron');
  }
  try {
    return CronExpressionParser.parse(expr, { tz, currentDate: now }).next().toDate();
  } catch (err) {
    const reason = (err as Error).message;
    throw new ValidationError((n) => `${n('cron')}: "${expr}" is not a valid cron expression (${reason})`, 'cron');
  }
}

/** Enough nights ahead for a daily or weekly cron to show each of its instants. */
const NIGHTS_AHEAD = 8;

/**
 * The first firing of a (valid) cron after `from` that falls outside the TRAI promotional window, or null. Looks
 * at the first firing of each night (21:00–09:00 IST) from one firing to the next, NIGHTS_AHEAD times: exact for
 * any cron whose firings repeat within a week, from every-second ones to weekly ones, in a few cron evaluations.
 */
export function firstFiringOutsideWindow(expr: string, tz: string, from: Date): Date | null {
  let after = from;
  for (let night = 0; night < NIGHTS_AHEAD; night++) {
    // The next firing from the coming window close on (from `after` itself when it is already outside the window).
    const nightFrom = isWithinWindow(after) ? new Date(nextWindowClose(after).getTime() - 1) : after;
    const firings = CronExpressionParser.parse(expr, { tz, currentDate: nightFrom });
    if (!firings.hasNext()) return null;
    const firing = firings.next().toDate();
    if (!isWithinWindow(firing)) return firing;
    after = firing;
  }
  return null;
}
