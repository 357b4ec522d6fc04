import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { ValidationError } from '../../errors';
import { importContacts, type ImportLimits, type ImportProgress } from '../../import/import-contacts';
import { onTerminationSignals } from '../../lib/shutdown';
import { withContainer } from '../context';
import { fieldOfOption } from '../input-names';
import { auditCliAction } from '../audit-cli';
import { printResult } from '../output';

interface ImportCliOptions {
  list: string;
  phoneColumn?: string;
  country: string;
  maxRecordSize?: string;
  maxFileSize?: string;
  maxColumns?: string;
  json?: boolean;
}

/** A file's size and modification time, to notice it changing while it is imported. */
export interface FileVersion {
  size: number;
  mtimeMs: number;
}

/** Checks the path before any list is created, so a typo is a usage error (exit 2) that stores nothing. */
export function requireFile(file: string): FileVersion {
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new ValidationError(`${file}: not a regular file`, 'file');
    return { size: st.size, mtimeMs: st.mtimeMs };
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    // Node's text after the code ("ENOENT: no such file or directory, stat 'x.csv'"): a bare ENOENT left a person
    // who mistyped a path to look the code up.
    const { code, message } = err as NodeJS.ErrnoException;
    const meaning = /^[A-Z0-9_]+: ([^,]+),/.exec(message)?.[1];
    const why = code === undefined ? String(err) : meaning === undefined ? code : `${meaning} (${code})`;
    throw new ValidationError(`${file}: cannot read the file: ${why}`, 'file');
  }
}

/**
 * The last check before an import of `file` commits: the file must be the one whose reading began, read whole. A
 * file still being written (a copy or a download not finished) was imported as far as it had got, and the list
 * became `ready` without the rest of its contacts. A file gone (moved or deleted after it was read) is judged on
 * the bytes read alone.
 */
export function sameFileAsRead(file: string, before: FileVersion, bytesRead: number): void {
  let now: FileVersion | undefined;
  try {
    now = requireFile(file);
  } catch {
    now = undefined;
  }
  const changed = bytesRead !== before.size || (now !== undefined && (now.size !== before.size || now.mtimeMs !== before.mtimeMs));
  if (changed) {
    const size = now?.size ?? bytesRead;
    throw new ValidationError(
      `${file}: the file changed while it was being imported (${before.size} bytes when the import started, ${size} now): is it still being written? Nothing was imported; import it again once it is complete`,
      'file',
    );
  }
}

function limitsFrom(opts: ImportCliOptions): Partial<ImportLimits> {
  const out: Partial<ImportLimits> = {};
  const pairs: [keyof ImportLimits, string | undefined, string][] = [
    ['maxRecordChars', opts.maxRecordSize, '--max-record-size'],
    ['maxFileBytes', opts.maxFileSize, '--max-file-size'],
    ['maxColumns', opts.maxColumns, '--max-columns'],
  ];
  for (const [key, value, flag] of pairs) {
    if (value === undefined) continue;
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new ValidationError(`${flag} must be a positive integer`, fieldOfOption(flag));
    out[key] = n;
  }
  return out;
}

/** A byte-based progress bar with rows/s, on stderr and only on a TTY (never in --json output). */
export function progressBar(totalBytes: number, enabled: boolean): { update(p: ImportProgress): void; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const started = Date.now();
  const bar = new SingleBar({
    stream: process.stderr,
    format: 'importing [{bar}] {percentage}% | {rows} rows | {rate} rows/s',
    hideCursor: true,
  });
  bar.start(Math.max(totalBytes, 1), 0, { rows: 0, rate: 0 });
  return {
    update: (p) => {
      const rate = Math.round(p.rows / Math.max((Date.now() - started) / 1000, 0.001));
      bar.update(p.bytes, { rows: p.rows, rate });
    },
    stop: () => bar.stop(),
  };
}

/** What `failImportOnSignal` gives back: `stop` listening, and `check` (throws once a signal came). */
export interface ImportSignals {
  stop(): void;
  /**
   * Throws when a signal came: called just before the import commits. A signal after the file was read whole (the
   * duplicate pass, the reject report: seconds on a big file) found no read left to break, and the import committed
   * after "stopping the import" had been printed — `bulksms send` then went on to create the campaign and send it.
   */
  check(): void;
}

/**
 * Ctrl-C (or SIGTERM) during an import fails it like any other broken read: the transaction rolls back, the list
 * ends `failed` naming the signal and the spooled rows are deleted. Ending the process at once instead left the
 * list `importing` for good and the spool of raw rows (names, numbers) on disk. A second signal quits at once.
 */
export function failImportOnSignal(source: Readable): ImportSignals {
  let signalled: NodeJS.Signals | null = null;
  const interrupted = (signal: NodeJS.Signals): Error => new Error(`interrupted (${signal}); nothing was imported`);
  const stop = onTerminationSignals((signal) => {
    if (signalled) process.exit(130);
    signalled = signal;
    process.stderr.write(`\n${signal}: stopping the import (${signal} again quits at once)\n`);
    source.destroy(interrupted(signal));
  });
  return {
    stop,
    check: () => {
      if (signalled) throw interrupted(signalled);
    },
  };
}

export function registerImport(program: Command): void {
  program
    .command('import <file>')
    .description('stream a contact CSV into a new list: detect encoding/delimiter/phone column, normalise to E.164, dedupe, suppress')
    .requiredOption('--list <name>', 'name of the contact list to create')
    .option('--phone-column <col>', 'phone column header (or 1-based number); auto-detected if absent')
    .option('--country <code>', 'default country for numbers without +prefix', 'IN')
    .option('--max-record-size <chars>', 'largest record in characters (default 65536)')
    .option('--max-file-size <bytes>', 'largest file in bytes (default 2 GiB)')
    .option('--max-columns <n>', 'most columns per row (default 256)')
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExample:\n  bulksms import contacts.csv --list diwali --json')
    .action(
      withContainer(async (c, file: string, opts: ImportCliOptions) => {
        const version = requireFile(file);
        const limits = limitsFrom(opts);
        const bar = progressBar(version.size, !opts.json);
        const source = createReadStream(file, { highWaterMark: 64 * 1024 });
        const signals = failImportOnSignal(source);
        let result;
        try {
          result = await importContacts(c, source, {
            listName: opts.list,
            fileName: file,
            country: opts.country,
            phoneColumn: opts.phoneColumn,
            limits,
            onProgress: bar.update,
            beforeCommit: async ({ bytesRead }) => {
              signals.check();
              sameFileAsRead(file, version, bytesRead);
            },
          });
        } finally {
          signals.stop();
          bar.stop();
        }
        const r = result;
        // As POST /api/lists is (list.import), naming the list it made.
        await auditCliAction(c, 'list.import', r.listId, { list: opts.list, file, accepted: r.accepted });
        printResult(opts, r, () =>
          [
            `list ${r.listId}: ${r.accepted} contacts from ${r.rows} rows`,
            `rejected ${r.rejected}, duplicates ${r.duplicates}, suppressed ${r.suppressed}`,
            r.rejectReport ? `reject report: ${r.rejectReport}` : null,
          ]
            .filter(Boolean)
            .join('\n'),
        );
      }),
    );
}
