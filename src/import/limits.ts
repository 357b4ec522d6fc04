/** Import limits: each keeps hostile or broken input from exhausting memory or time. */
export interface ImportLimits {
  /** Largest record (characters). An unclosed quote fails here instead of buffering the rest of the file. */
  maxRecordChars: number;
  /** Largest file (bytes). */
  maxFileBytes: number;
  /** Most columns in the header (and in any row). */
  maxColumns: number;
}

export const DEFAULT_LIMITS: Readonly<ImportLimits> = Object.freeze({
  maxRecordChars: 64 * 1024,
  maxFileBytes: 2 * 1024 * 1024 * 1024,
  maxColumns: 256,
});

export function resolveLimits(partial: Partial<ImportLimits> | undefined): ImportLimits {
  const limits = { ...DEFAULT_LIMITS, ...partial };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value <= 0) throw new RangeError(`import limit ${name} must be a positive integer`);
  }
  return limits;
}
