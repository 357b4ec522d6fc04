/**
 * TRAI promotional window: promotional SMS only between 09:00 and 21:00 Asia/Kolkata. Pure.
 * India has no daylight saving time, so IST is a fixed UTC+05:30 and no time-zone database is needed.
 */
const IST_OFFSET_MS = (5 * 60 + 30) * 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export const WINDOW_OPEN_HOUR = 9;
export const WINDOW_CLOSE_HOUR = 21;

/** Marker every window pause reason starts with, so the watcher resumes only the campaigns it paused. */
export const WINDOW_PAUSE_PREFIX = 'outside TRAI promotional window';
export const WINDOW_PAUSE_REASON = `${WINDOW_PAUSE_PREFIX} (09:00–21:00 IST); resumes 09:00 IST`;

/** Milliseconds since 00:00 IST of the IST day containing `date`, and the UTC instant of that midnight. */
function istDay(date: Date): { sinceMidnight: number; midnightUtc: number } {
  const local = date.getTime() + IST_OFFSET_MS;
  const sinceMidnight = ((local % DAY_MS) + DAY_MS) % DAY_MS;
  return { sinceMidnight, midnightUtc: date.getTime() - sinceMidnight };
}

/** True from 09:00:00.000 (inclusive) to 21:00:00.000 (exclusive) IST. */
export function isWithinWindow(date: Date): boolean {
  const { sinceMidnight } = istDay(date);
  return sinceMidnight >= WINDOW_OPEN_HOUR * HOUR_MS && sinceMidnight < WINDOW_CLOSE_HOUR * HOUR_MS;
}

/** The next 09:00 IST strictly after `date` (today's if it is still before 09:00, otherwise tomorrow's). */
export function nextWindowOpen(date: Date): Date {
  const { sinceMidnight, midnightUtc } = istDay(date);
  const open = WINDOW_OPEN_HOUR * HOUR_MS;
  return new Date(midnightUtc + open + (sinceMidnight < open ? 0 : DAY_MS));
}

/** The next 21:00 IST strictly after `date`. */
export function nextWindowClose(date: Date): Date {
  const { sinceMidnight, midnightUtc } = istDay(date);
  const close = WINDOW_CLOSE_HOUR * HOUR_MS;
  return new Date(midnightUtc + close + (sinceMidnight < close ? 0 : DAY_MS));
}

/** `2026-11-30 22:00 IST`: an instant as the operators read it. */
export function formatIst(date: Date): string {
  return `${new Date(date.getTime() + IST_OFFSET_MS).toISOString().slice(0, 16).replace('T', ' ')} IST`;
}

export type CampaignKind = 'transactional' | 'promotional';

/** May a campaign of this type send at `date`? Transactional SMS are not restricted. */
export function maySendAt(type: CampaignKind, date: Date): boolean {
  return type === 'transactional' || isWithinWindow(date);
}
