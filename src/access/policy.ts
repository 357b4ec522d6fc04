/**
 * Who may do what, and who sees phone numbers in clear. Pure: no I/O, so the whole role × action matrix
 * is unit-tested and the HTTP layer only has to tag each route with one access level.
 *
 * - `read`     list/show campaigns, lists, per-message status (phones masked unless owner with an OTP grant)
 * - `write`    upload and delete lists, create/start/pause/resume/cancel/retry campaigns, add and remove suppressions
 * - `admin`    tokens, archive/restore, settings
 * - `unmasked` per-message data or exports with phones in clear: owner only, and only with a fresh OTP grant
 */
export const ROLES = ['owner', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export const ACCESS_LEVELS = ['read', 'write', 'admin', 'unmasked'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

/** The API's actions by name, each mapped to the access level its route must declare. */
export const ACTIONS = {
  'health.read': 'read',
  'campaign.list': 'read',
  'campaign.show': 'read',
  'campaign.status': 'read',
  'list.show': 'read',
  'message.list': 'read',
  'metrics.read': 'read',
  'suppression.show': 'read',
  'list.import': 'write',
  'list.delete': 'write',
  'campaign.create': 'write',
  'campaign.start': 'write',
  'campaign.pause': 'write',
  'campaign.resume': 'write',
  'campaign.cancel': 'write',
  'campaign.retry': 'write',
  'suppression.add': 'write',
  'suppression.remove': 'write',
  'token.create': 'admin',
  'token.revoke': 'admin',
  'archive.run': 'admin',
  'archive.restore': 'admin',
  'message.list.unmasked': 'unmasked',
  'message.export.unmasked': 'unmasked',
} as const satisfies Record<string, AccessLevel>;
export type Action = keyof typeof ACTIONS;

const GRANTED: Record<Role, readonly AccessLevel[]> = {
  owner: ['read', 'write', 'admin', 'unmasked'],
  operator: ['read', 'write'],
  viewer: ['read'],
};

export type DenyReason = 'forbidden' | 'otp_required';

export interface Decision {
  allow: boolean;
  /** Set when allow is false: `otp_required` means the role may, but only after a fresh SMS OTP. */
  reason?: DenyReason;
  /** Whether phone numbers in the response must go through maskPhone. */
  maskPhones: boolean;
  /** Whether the access must be written to the audit log (unmasked data, state changes). */
  audit: boolean;
}

export interface DecisionContext {
  /** The principal holds an unexpired OTP grant (see otp.ts). */
  otpGranted: boolean;
}

export function decide(role: Role, level: AccessLevel, ctx: DecisionContext = { otpGranted: false }): Decision {
  const canSeeClear = role === 'owner' && ctx.otpGranted;
  const maskPhones = !canSeeClear;
  if (!GRANTED[role].includes(level)) return { allow: false, reason: 'forbidden', maskPhones, audit: false };
  if (level === 'unmasked' && !ctx.otpGranted) return { allow: false, reason: 'otp_required', maskPhones, audit: false };
  return { allow: true, maskPhones, audit: level !== 'read' || canSeeClear };
}

export function decideAction(role: Role, action: Action, ctx?: DecisionContext): Decision {
  return decide(role, ACTIONS[action], ctx);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/**
 * '+919876543210' → '+91******3210': keeps the country code and the last 4 digits so support staff can
 * match a complaint without seeing the number. At most half of the national number is shown, so short national
 * numbers stay masked too (Saint Helena's '+29051234' → '+290***34'; 4 of 4 digits shown gave the number away).
 * Anything that is not E.164 keeps at most its last 4 characters and at most half of them (none of 4 or fewer).
 */
export function maskPhone(phone: string): string {
  if (/^\+\d{6,15}$/.test(phone)) {
    const cc = countryCodeLength(phone.slice(1));
    return `+${phone.slice(1, 1 + cc)}${maskTail(phone.slice(1 + cc))}`;
  }
  return phone.length <= 4 ? '*'.repeat(phone.length) : maskTail(phone);
}

/**
 * Masks what looks like a phone number inside free text (a raw CSV row of the import's reject report, a provider's
 * answer): every run of 5 or more digits, spaces, dots, slashes, dashes and brackets allowed between them, keeps at
 * most its last 4 digits and at most half. Shorter numbers (a line number, an age, a pin code of 4) stay as they are,
 * and so do durations and sizes ("no complete answer within 10000 ms"): a phone number is never followed by a unit.
 */
export function maskDigitRuns(text: string): string {
  const ids = [...text.matchAll(UUID)].map((m) => [m.index, m.index + m[0].length] as const);
  return text.replace(/\+?\d(?:[\d\s()./-]*\d)?/g, (run: string, at: number) => {
    const digits = run.replace(/\D/g, '').length;
    if (digits < 5 || QUANTITY_UNIT.test(text.slice(at + run.length)) || QUANTITY_BEFORE.test(text.slice(0, at))) return run;
    // Digits of a campaign's, run's or list's id (in an alert: "campaign 3fa85f64-5717-… not started") are no number.
    if (ids.some(([from, to]) => at < to && at + run.length > from)) return run;
    let hide = digits - Math.min(4, Math.floor(digits / 2));
    return run.replace(/\d/g, (d) => (hide-- > 0 ? '*' : d));
  });
}

/** The units our own texts put after a number (src/provider/twofactor/http.ts: timeouts, answer sizes; credit checks). */
const QUANTITY_UNIT = /^ ?(?:ms|bytes|credits|[A-Z_]+_SMS credits)\b/;
/** Our own credit checks' words before a number (credit-check.ts, manual-start.ts): "balance is 99999", "short by 500". */
const QUANTITY_BEFORE = /(?:\bbalance(?: is)?|\bshort by(?: at least)?|\bneeds(?: at least)?) $/;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

function maskTail(value: string): string {
  const shown = Math.min(4, Math.floor(value.length / 2));
  return '*'.repeat(value.length - shown) + value.slice(value.length - shown);
}

/** ITU country codes are prefix-free: 1 (NANP), 7, and a few 2-digit ones; the rest are 3 digits. */
function countryCodeLength(digits: string): number {
  if (digits.startsWith('1') || digits.startsWith('7')) return 1;
  const two = ['20', '27', '30', '31', '32', '33', '34', '36', '39', '40', '41', '43', '44', '45', '46', '47', '48', '49',
    '51', '52', '53', '54', '55', '56', '57', '58', '60', '61', '62', '63', '64', '65', '66', '81', '82', '84', '86',
    '90', '91', '92', '93', '94', '95', '98'];
  return two.includes(digits.slice(0, 2)) ? 2 : 3;
}
