/** No imports: `bulksms simulator` (simulator-main.ts) loads only what it runs, and needs this too. */

/**
 * A reader that stops early (`bulksms campaign status <id> --watch | head -1`) closes the pipe, and the next write
 * fails with EPIPE: the reader's choice, not a failure of the command. Exit quietly, as Unix tools do, instead of
 * the crash reporter's "fatal: unexpected error" with a stack and exit 1.
 */
export function exitQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
