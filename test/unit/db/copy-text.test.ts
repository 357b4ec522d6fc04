import { decodeField, decodeRow, encodeField, encodeRow } from '../../../src/db/copy-text';
import { retentionCutoffs } from '../../../src/archive/retention';

describe('COPY text format', () => {
  it.each([
    [null, '\\N'],
    ['', ''],
    ['plain', 'plain'],
    ['tab\there', 'tab\\there'],
    ['line\nbreak\r\n', 'line\\nbreak\\r\\n'],
    ['back\\slash \\N', 'back\\\\slash \\\\N'],
    ['नमस्ते ✓', 'नमस्ते ✓'],
  ])('%j ⇄ %j', (value, encoded) => {
    expect(encodeField(value)).toBe(encoded);
    expect(decodeField(encoded)).toBe(value);
  });

  it('round-trips whole rows and checks the field count', () => {
    const row = ['1', null, 'a\tb', ''];
    const line = encodeRow(row);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1).includes('\n')).toBe(false);
    expect(decodeRow(line.slice(0, -1), 4, 1)).toEqual(row);
    expect(() => decodeRow('a\tb', 3, 7)).toThrow('line 7: expected 3 fields, found 2');
  });
});

describe('retentionCutoffs', () => {
  const now = new Date('2026-11-26T00:00:00Z');
  it('uses 365 days / 7 years by default', () => {
    const c = retentionCutoffs(now, { retentionDays: 365, regulatedDays: 2557 });
    expect(c.ordinary.toISOString()).toBe('2025-11-26T00:00:00.000Z');
    expect(c.regulated.toISOString()).toBe('2019-11-26T00:00:00.000Z');
  });
  it('--older-than replaces the ordinary period but never shortens the regulated one', () => {
    const short = retentionCutoffs(now, { retentionDays: 365, regulatedDays: 2557, olderThanDays: 30 });
    expect(short.ordinary.toISOString()).toBe('2026-10-27T00:00:00.000Z');
    expect(short.regulated.toISOString()).toBe('2019-11-26T00:00:00.000Z');
    const long = retentionCutoffs(now, { retentionDays: 365, regulatedDays: 10, olderThanDays: 20 });
    expect(long.regulated.toISOString()).toBe('2026-11-06T00:00:00.000Z');
  });
});
