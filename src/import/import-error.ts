/** Whole-file import failures: bad usage/input (CLI exit 2, HTTP 400), naming file, line, column and why. */
import { ValidationError, type ErrorText } from '../errors';

export interface ImportErrorLocation {
  file: string;
  line?: number;
  column?: string;
}

export class ImportError extends ValidationError {
  /** `field`: the id of the input at fault (`phoneColumn`), when one is; a reason naming inputs is a function (errors.ts). */
  constructor(
    readonly location: ImportErrorLocation,
    reason: ErrorText,
    field?: string,
  ) {
    const where = [location.file];
    if (location.line !== undefined) where.push(`line ${location.line}`);
    if (location.column !== undefined) where.push(`column "${location.column}"`);
    super((n) => `${where.join(', ')}: ${typeof reason === 'string' ? reason : reason(n)}`, field);
  }
}
