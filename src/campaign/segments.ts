/**
 * Exact SMS segment counting (3GPP TS 23.038 / 23.040). Pure.
 *
 * - GSM-7: every character of the default alphabet is one septet; the extension table (`^{}\[~]|€` and form
 *   feed) costs two (ESC + char). 160 septets fit one SMS; a concatenated part holds 153 (the UDH takes 7).
 * - UCS-2: one character outside the GSM tables (Hindi, emoji, curly quotes...) switches the whole message.
 *   Lengths are UTF-16 code units (an emoji is 2). 70 fit one SMS; a concatenated part holds 67.
 *
 * Multipart messages are packed the way handsets and SMSCs do it: an escape sequence or a surrogate pair is
 * never split across two parts, so a two-unit character that straddles a part boundary moves to the next part
 * (Twilio's segment calculator does the same). This can cost one more part than `ceil(length / 153)`.
 */
export type Encoding = 'GSM-7' | 'UCS-2';

export interface SegmentCount {
  encoding: Encoding;
  /** Number of SMS parts billed (1 for an empty text, as GOV.UK Notify counts it). */
  segments: number;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  characters: number;
}

/** GSM 03.38 default alphabet (basic character set), including LF and CR. */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
/** GSM 03.38 extension table: each costs an escape septet plus itself. */
const GSM_EXTENDED = '\f^{}\\[~]|€';

const BASIC = new Set(GSM_BASIC);
const EXTENDED = new Set(GSM_EXTENDED);

export const LIMITS = {
  'GSM-7': { single: 160, part: 153 },
  'UCS-2': { single: 70, part: 67 },
} as const;

/** Cost of one character in GSM-7 septets, or null when it is not in the GSM tables. */
function gsmCost(ch: string): 1 | 2 | null {
  if (BASIC.has(ch)) return 1;
  if (EXTENDED.has(ch)) return 2;
  return null;
}

export function isGsm7(text: string): boolean {
  for (const ch of text) if (gsmCost(ch) === null) return false;
  return true;
}

/**
 * The distinct characters of `text` outside the GSM tables, in order of appearance, at most `limit`: what switches
 * a message to UCS-2. Often one pasted from a word processor or a web page (’ – … or a no-break space).
 */
export function nonGsmCharacters(text: string, limit = 5): string[] {
  const found = new Set<string>();
  for (const ch of text) {
    if (gsmCost(ch) !== null || found.has(ch)) continue;
    found.add(ch);
    if (found.size === limit) break;
  }
  return [...found];
}

/** Units of each character (septets or UTF-16 code units), in order. */
function unitsOf(text: string, encoding: Encoding): number[] {
  const units: number[] = [];
  // for..of iterates code points, so a surrogate pair arrives as one 2-unit character.
  for (const ch of text) units.push(encoding === 'GSM-7' ? gsmCost(ch)! : ch.length);
  return units;
}

/** Greedy packing into parts of `capacity` units without splitting a multi-unit character. */
function packParts(units: number[], capacity: number): number {
  let parts = 1;
  let used = 0;
  for (const u of units) {
    if (used + u > capacity) {
      parts += 1;
      used = 0;
    }
    used += u;
  }
  return parts;
}

/** Printable ASCII of the GSM basic set only (every character one septet): the common case, counted without a walk. */
const PLAIN_GSM_ASCII = /^[A-Za-z0-9 !"#$%&'()*+,\-./:;<=>?@_\n\r]*$/;

export function countSegments(text: string): SegmentCount {
  // Counted for every message of a run as it is materialised, and of the list at create: keep the usual text cheap.
  if (PLAIN_GSM_ASCII.test(text)) {
    const n = text.length;
    return { encoding: 'GSM-7', segments: n <= LIMITS['GSM-7'].single ? 1 : Math.ceil(n / LIMITS['GSM-7'].part), characters: n };
  }
  const encoding: Encoding = isGsm7(text) ? 'GSM-7' : 'UCS-2';
  const units = unitsOf(text, encoding);
  const characters = units.reduce((a, b) => a + b, 0);
  const limits = LIMITS[encoding];
  const segments = characters <= limits.single ? 1 : packParts(units, limits.part);
  return { encoding, segments, characters };
}

/** Combined statistics over many rendered messages (min/max/total), built incrementally for streaming. */
export interface SegmentStats {
  messages: number;
  gsm: number;
  ucs2: number;
  segmentsMin: number;
  segmentsMax: number;
  totalSegments: number;
}

export function emptyStats(): SegmentStats {
  return { messages: 0, gsm: 0, ucs2: 0, segmentsMin: 0, segmentsMax: 0, totalSegments: 0 };
}

export function addToStats(stats: SegmentStats, count: SegmentCount): void {
  stats.segmentsMin = stats.messages === 0 ? count.segments : Math.min(stats.segmentsMin, count.segments);
  stats.segmentsMax = Math.max(stats.segmentsMax, count.segments);
  stats.messages += 1;
  stats.totalSegments += count.segments;
  if (count.encoding === 'GSM-7') stats.gsm += 1;
  else stats.ucs2 += 1;
}
