/** CLI output rules: with --json exactly one JSON object on stdout; everything else (logs, progress) on stderr. */
import { AppError } from '../errors';
import { ConfigError } from '../config';

export interface OutputOptions {
  json?: boolean;
}

export function printResult(opts: OutputOptions, result: object, human: () => string): void {
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
  } else {
    process.stdout.write(`${human()}\n`);
  }
}

/** Colour only on a TTY (and never when NO_COLOR is set). */
export function colour(code: number, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return stream.isTTY && !process.env.NO_COLOR ? `\u001b[${code}m${text}\u001b[0m` : text;
}

export function exitCodeFor(err: unknown): 1 | 2 {
  if (err instanceof AppError) return err.exitCode;
  if (err instanceof ConfigError) return 2;
  return 1;
}

/** Prints an error for a human (stderr) or as the single JSON object (stdout) and returns the exit code. */
export function reportError(err: unknown, opts: OutputOptions): 1 | 2 {
  const code = exitCodeFor(err);
  const message = err instanceof Error ? err.message : String(err);
  if (opts.json) {
    const kind = err instanceof AppError ? err.code : err instanceof ConfigError ? 'config' : 'runtime';
    process.stdout.write(`${JSON.stringify({ error: { code: kind, message } })}\n`);
  }
  process.stderr.write(`${colour(31, 'error', process.stderr)}: ${message}\n`);
  return code;
}
