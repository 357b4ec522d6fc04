/**
 * CSV writing for exports that operators open in spreadsheets. A cell starting with `=`, `+`, `-`, `@`,
 * tab or carriage return can be run as a formula (CSV injection, OWASP), and provider texts and CSV-imported
 * values are attacker-controlled, so such cells get a leading `'` that spreadsheets show as text.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function neutraliseFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** One RFC 4180 cell: formula-neutralised, quoted when it holds a comma, quote or line break. */
export function csvCell(value: string | number | boolean | Date | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = neutraliseFormula(value instanceof Date ? value.toISOString() : String(value));
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(cells: readonly (string | number | boolean | Date | null | undefined)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
