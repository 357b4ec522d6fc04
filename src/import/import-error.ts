/** Whole-file import failures: bad usage/input (CLI exit 2, HTTP 400), naming file, line, column and why. */
import { ValidationError } from '../errors';

export interface ImportErrorLocation {
  file: string;
  line?: number;
  column?: string;
}

export class ImportError extends ValidationError {
  /** `field`: the input at fault, named as the HTTP API's errors name it (`phoneColumn`), when one is. */
  constructor(
    readonly location: ImportErrorLocation,
    readonly reason: string,
    field?: string,
  ) {
    const where = [location.file];
    if (location.line !== undefined) where.push(`line ${location.line}`);
    if (location.column !== undefined) where.push(`column "${location.column}"`);
    super(`${where.join(', ')}: ${reason}`, field);
  }
}
