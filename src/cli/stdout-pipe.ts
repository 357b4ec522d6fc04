/** No imports: `bulksms simulator` (simulator-main.ts) loads only what it runs, and needs this too. */

/**
 * 128 + SIGPIPE (13): what a shell reports for a tool the closed pipe ended (`yes | head -1` under
 * `set -o pipefail`), in the 128 + signal convention of the watch's 130 and 143.
 */
export const CLOSED_PIPE_EXIT = 141;

/**
 * A reader that stops early (`bulksms campaign status <id> --watch | head -1`, `… 2>&1 | head`) closes the pipe, and
 * the next write fails with EPIPE. End as Unix tools do when SIGPIPE kills them (Node ignores the signal, so the
 * write fails instead): at once, without a word — no "fatal: unexpected error" and stack, which could not be read
 * anyway — and with status 141, not 0: without `pipefail` the pipeline's status is the reader's, so `| head` stays
 * quiet and successful, and with it a script learns that the output was cut short, as it does of `cat`, `seq` or
 * `grep`. Before, a closed stdout exited 0 (a cut-short listing passed for a whole one) and a closed stderr crashed
 * with exit 1; the two are now the same.
 */
export function exitQuietlyWhenOutputCloses(): void {
  const onError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') process.exit(CLOSED_PIPE_EXIT);
    throw err;
  };
  process.stdout.on('error', onError);
  process.stderr.on('error', onError);
}
