import { addToStats, countSegments, emptyStats, isGsm7 } from '../../../src/campaign/segments';

const a = (n: number): string => 'a'.repeat(n);
const hi = (n: number): string => 'ह'.repeat(n); // U+0939, one UTF-16 unit, not in GSM 03.38

/**
 * Test vectors. Sources: GOV.UK Notify pricing rules ("160 characters = 1 text message, 306 = 2, 459 = 3";
 * Welsh/accented/unicode: "70 = 1, 134 = 2, 201 = 3"; `^{}\[~]|€` count as 2) and Twilio's segment
 * calculator (UCS-2 by UTF-16 units; escape sequences and surrogate pairs are never split across parts).
 */
const VECTORS: Array<[label: string, text: string, encoding: 'GSM-7' | 'UCS-2', segments: number, characters: number]> = [
  ['empty', '', 'GSM-7', 1, 0],
  ['1 char', 'a', 'GSM-7', 1, 1],
  ['160 GSM chars', a(160), 'GSM-7', 1, 160],
  ['161 GSM chars', a(161), 'GSM-7', 2, 161],
  ['306 GSM chars', a(306), 'GSM-7', 2, 306],
  ['307 GSM chars', a(307), 'GSM-7', 3, 307],
  ['459 GSM chars', a(459), 'GSM-7', 3, 459],
  ['460 GSM chars', a(460), 'GSM-7', 4, 460],
  ['80 euro signs = 160 septets', '€'.repeat(80), 'GSM-7', 1, 160],
  ['159 + one extended char = 161 septets', `${a(159)}^`, 'GSM-7', 2, 161],
  ['158 + one extended char = 160 septets', `${a(158)}|`, 'GSM-7', 1, 160],
  ['every extended char counts two', '^{}\\[~]|€\f', 'GSM-7', 1, 20],
  ['extended char straddling the 153 boundary moves to part 2', `${a(152)}€${a(152)}`, 'GSM-7', 3, 306],
  ['extended char ending exactly at 153', `${a(151)}€${a(153)}`, 'GSM-7', 2, 306],
  ['GSM accents (é ü Ç ñ à) stay GSM-7', 'é ü Ç ñ à ß Æ Δ Ω £ ¥ § ¿ ¡', 'GSM-7', 1, 27],
  ['LF and CR are basic GSM', 'line1\nline2\r\n', 'GSM-7', 1, 13],
  ['70 UCS-2 chars', hi(70), 'UCS-2', 1, 70],
  ['71 UCS-2 chars', hi(71), 'UCS-2', 2, 71],
  ['134 UCS-2 chars', hi(134), 'UCS-2', 2, 134],
  ['135 UCS-2 chars', hi(135), 'UCS-2', 3, 135],
  ['201 UCS-2 chars', hi(201), 'UCS-2', 3, 201],
  ['Hindi text', 'नमस्ते दुनिया', 'UCS-2', 1, 13],
  ['one Hindi char switches 160 Latin chars to UCS-2', `${a(159)}न`, 'UCS-2', 3, 160],
  ['lower-case ç is not GSM (only Ç is)', 'ça va', 'UCS-2', 1, 5],
  ['curly apostrophe switches to UCS-2', 'it’s', 'UCS-2', 1, 4],
  ['emoji count two UTF-16 units', '😀', 'UCS-2', 1, 2],
  ['35 emoji = 70 units', '😀'.repeat(35), 'UCS-2', 1, 70],
  ['36 emoji = 72 units', '😀'.repeat(36), 'UCS-2', 2, 72],
  ['emoji straddling the 67 boundary moves to part 2', `${a(66)}😀${a(66)}`, 'UCS-2', 3, 134],
  ['extended chars in a UCS-2 message count one unit', `${hi(69)}€`, 'UCS-2', 1, 70],
];

describe('countSegments', () => {
  it.each(VECTORS)('%s', (_label, text, encoding, segments, characters) => {
    expect(countSegments(text)).toEqual({ encoding, segments, characters });
  });

  it('detects GSM-7 text', () => {
    expect(isGsm7('Hello {{name}} [1]')).toBe(true);
    expect(isGsm7('Hello 👋')).toBe(false);
  });
});

describe('segment stats', () => {
  it('tracks min, max, total and encodings over many messages', () => {
    const stats = emptyStats();
    for (const t of [a(10), a(200), hi(80)]) addToStats(stats, countSegments(t));
    expect(stats).toEqual({ messages: 3, gsm: 2, ucs2: 1, segmentsMin: 1, segmentsMax: 2, totalSegments: 5 });
  });
});

describe('the plain-ASCII shortcut', () => {
  it('counts every ASCII character as the full walk does (é, GSM but not ASCII, forces the walk)', () => {
    for (let code = 0; code < 128; code++) {
      const ch = String.fromCharCode(code);
      const walked = countSegments(`${ch}é`);
      const counted = countSegments(ch);
      expect({ ch, encoding: counted.encoding, characters: counted.characters }).toEqual({
        ch,
        encoding: walked.encoding,
        characters: walked.characters - 1, // é is one septet or one UTF-16 unit
      });
    }
  });

  it('splits long plain texts into 153-septet parts', () => {
    expect(countSegments('a'.repeat(160))).toEqual({ encoding: 'GSM-7', segments: 1, characters: 160 });
    expect(countSegments('a'.repeat(161))).toEqual({ encoding: 'GSM-7', segments: 2, characters: 161 });
    expect(countSegments('a'.repeat(153 * 3 + 1))).toMatchObject({ segments: 4 });
  });
});
