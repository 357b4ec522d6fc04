/**
 * Terminal columns of text, for the CLI's aligned output. `String.length` counts UTF-16 units, not columns: a CJK
 * character or an emoji takes two columns, a Hindi vowel sign or virama none or one, so names padded by length
 * pushed every later column of their row out of line. string-width measures by grapheme cluster (East Asian Width,
 * emoji, combining marks) as terminals draw them.
 */
import stringWidth from 'string-width';

const graphemes = new Intl.Segmenter();

export function displayWidth(text: string): number {
  return stringWidth(text);
}

/** `text` followed (or, `right`, preceded) by spaces up to `width` columns. */
export function padToWidth(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const gap = ' '.repeat(Math.max(0, width - displayWidth(text)));
  return align === 'right' ? gap + text : text + gap;
}

/**
 * At most `max` columns, a longer text cut ending in `…`. Cut between grapheme clusters: cutting by UTF-16 units
 * left half an emoji (a lone surrogate, drawn as �) or a consonant without its vowel sign.
 */
export function cutToWidth(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const w = displayWidth(segment);
    if (used + w > max - 1) break;
    out += segment;
    used += w;
  }
  return `${out}…`;
}
