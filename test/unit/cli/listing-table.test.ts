import { cutToWidth, displayWidth } from '../../../src/cli/display-width';
import { formatTable, printable, type Column } from '../../../src/cli/listing';

interface Row {
  name: string;
  sent: number;
}
const columns: Column<Row>[] = [
  { header: 'NAME', value: (r) => r.name, max: 12 },
  { header: 'SENT', value: (r) => String(r.sent), align: 'right' },
  { header: 'STATUS', value: () => 'ready' },
];

describe('CLI tables are aligned in terminal columns, not UTF-16 units', () => {
  it('CJK and emoji names (two columns a character) keep the next columns in line', () => {
    const table = formatTable(
      [
        { name: 'diwali', sent: 1 },
        { name: '双十一', sent: 333 }, // 3 UTF-16 units, 6 columns
        { name: 'sale 🎉🎉', sent: 4 }, // 9 units, 9 columns: the widest
        { name: '🎉', sent: 22 }, // 2 units, 2 columns
      ],
      columns,
    );
    expect(table).toBe(
      [
        'NAME       SENT  STATUS', //
        'diwali        1  ready',
        '双十一      333  ready',
        'sale 🎉🎉     4  ready',
        '🎉           22  ready',
      ].join('\n'),
    );
  });

  it('a Hindi name (vowel signs and virama are not columns of their own) keeps them in line too', () => {
    const table = formatTable([{ name: 'diwali', sent: 1 }, { name: 'दिवाली सेल', sent: 22 }], columns);
    const statusColumn = table.split('\n').map((line) => displayWidth(line.slice(0, line.search(/ready|STATUS/))));
    expect(new Set(statusColumn).size).toBe(1);
    expect(displayWidth('दिवाली सेल')).toBeLessThan('दिवाली सेल'.length);
  });

  it('a long name is cut to its column width between characters, never inside an emoji or a cluster', () => {
    const cut = cutToWidth('🎉🎉🎉🎉🎉🎉🎉🎉', 12);
    expect(cut).toBe('🎉🎉🎉🎉🎉…');
    expect(displayWidth(cut)).toBe(11);
    expect(cutToWidth('双十一双十一双十一', 12)).toBe('双十一双十…');
    expect(cutToWidth('short', 12)).toBe('short');
    expect(formatTable([{ name: '🎉'.repeat(8), sent: 1 }], columns).split('\n')[1]).toBe('🎉🎉🎉🎉🎉…     1  ready');
  });
});

describe('printable', () => {
  it('blanks control characters and bidirectional overrides, keeps emoji sequences whole', () => {
    expect(printable('a\nb\u001b[31mc')).toBe('a b [31mc');
    // U+202E would draw the rest of the row (its counts) right to left.
    expect(printable('sale\u202E1 :tnes')).toBe('sale 1 :tnes');
    expect(printable('x\u2066y\u2069')).toBe('x y ');
    expect(printable('👨‍👩‍👧 family')).toBe('👨‍👩‍👧 family');
  });
});
