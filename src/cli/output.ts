/** CLI output rules: with --json exactly one JSON object on stdout; everything else (logs, progress) on stderr. */
import { AppError, ServiceError, ValidationError } from '../errors';
import { ConfigError, secretValues } from '../config';
import { scrubString } from '../logger';
import { isUnreachable } from '../db/reachability';
import { cliField, cliOption } from './input-names';

export interface OutputOptions {
  json?: boolean;
}

/** Whether this process has printed its one --json object: a crash after it must not add a second. */
let jsonObjectWritten = false;

/** The one JSON object of a --json command (its result or its error), on a line of its own. */
export function writeJsonObject(value: object): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
  jsonObjectWritten = true;
}

export function printResult(opts: OutputOptions, result: object, human: () => string): void {
  if (opts.json) {
    writeJsonObject(result);
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

/**
 * What an operator reads: Prisma's messages quote our source code before the reason ("Invalid `….create()`
 * invocation in /…/tokens.ts:57 … → 57 const row = …"); the reason is their last line.
 */
function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // Shared code names inputs by id (`at`, `packSize`): the operator typed `--at`, `--pack`.
  if (err instanceof ServiceError && err.serverDetail) return `${err.messageFor(cliOption)} — ${err.serverDetail}`;
  if (err instanceof AppError) return err.messageFor(cliOption);
  const code = (err as { code?: unknown }).code;
  const lines = err.message.split('\n').map((l) => l.trim()).filter(Boolean);
  const reason = err.name.startsWith('PrismaClient') ? (lines[lines.length - 1] ?? err.message) : err.message;
  // PostgreSQL's invalid_catalog_name and Prisma's P1003 (the commands that read through Prisma: `campaign list`,
  // `token`, `audit`): the server answers, the database is not created yet.
  if (code === '3D000' || code === 'P1003') return `${reason} (\`bulksms migrate\` creates it)`;
  // PostgreSQL's undefined_table and Prisma's P2021: a database created by hand, or this version's migrations not
  // applied yet.
  if (code === '42P01' || code === 'P2021') return `${reason} (the database is not migrated: \`bulksms migrate\` applies the migrations)`;
  // `serve`, `simulator`, `worker --metrics-port`: most often one started before is still running.
  if (code === 'EADDRINUSE') return `${reason} (another process listens there, perhaps one started earlier: stop it or choose another port)`;
  return reason;
}

/** Prints an error for a human (stderr) or as the single JSON object (stdout) and returns the exit code. */
export function reportError(err: unknown, opts: OutputOptions): 1 | 2 {
  const code = exitCodeFor(err);
  const message = scrubString(messageOf(err), environmentSecrets());
  if (opts.json) {
    // "service": a dependency is down, as for the provider (ServiceError); "runtime": anything else unexpected.
    const kind = err instanceof AppError ? err.code : err instanceof ConfigError ? 'config' : isUnreachable(err) ? 'service' : 'runtime';
    // The input at fault, under the CLI's name for it (the option without dashes, camelCase: `pack`, `olderThan`).
    const field = err instanceof ValidationError && err.field ? { field: cliField(err.field) } : {};
    // The option that gets past the refusal when the command is run again with it (`force` for `--force`).
    const override = err instanceof AppError && err.overridableBy ? { overridableBy: cliField(err.overridableBy) } : {};
    writeJsonObject({ error: { code: kind, message, ...field, ...override } });
  }
  process.stderr.write(`${colour(31, 'error', process.stderr)}: ${message}\n`);
  return code;
}

/**
 * The secrets a message could carry (the API key travels in 2Factor's URLs and bodies, URL passwords in connection
 * errors): error text bypasses the logger and its redaction, so it is scrubbed the same way before it reaches a
 * terminal or a log collector.
 */
function environmentSecrets(): string[] {
  return secretValues(process.env);
}

/**
 * Last resort for an error nothing awaited (a bug): Node would print it raw, secrets and all, and exit. Reported
 * scrubbed, then the process exits 1 as Node would — a worker's state is not trustworthy after it, and the
 * ledger is built for a worker that dies at any instant. Under --json it is also the error object on stdout
 * (unless the command's object is already there), so a script parsing stdout sees a failure as for any other.
 */
export function installCrashReporter(): void {
  const crash = (err: unknown): void => {
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`${colour(31, 'fatal', process.stderr)}: unexpected error, exiting: ${scrubString(detail, environmentSecrets())}\n`);
    if (process.argv.includes('--json') && !jsonObjectWritten) {
      const message = scrubString(err instanceof Error ? err.message : String(err), environmentSecrets());
      writeJsonObject({ error: { code: 'runtime', message: `unexpected error: ${message}` } });
    }
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}
