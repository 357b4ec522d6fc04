/** No imports: `bulksms simulator` (simulator-main.ts) loads only what it runs, and needs this too. */

/**
 * 128 + SIGPIPE (13): what a shell reports for a tool the closed pipe ended (`yes | head -1` under
 * `set -o pipefail`), in the 128 + signal convention of the watch's 130 and 143.
 */
export const CLOSED_PIPE_EXIT = 141;

/**
 * What a closed pipe does to this process. Unset: it ends at once (exitQuietlyWhenOutputCloses). Set by a command
 * whose work must not be cut by its display (finishWorkWhenOutputCloses): its output goes silent and the command
 * goes on, or stops through its own orderly path.
 */
let finishing: { onClosed: () => void } | null = null;
let closedWhileFinishing = false;

function outputClosed(): void {
  if (!finishing) process.exit(CLOSED_PIPE_EXIT);
  if (closedWhileFinishing) return;
  closedWhileFinishing = true;
  finishing.onClosed();
}

/**
 * A reader that stops early (`bulksms campaign status <id> --watch | head -1`, `… 2>&1 | head`) closes the pipe, and
 * the next write fails with EPIPE. End as Unix tools do when SIGPIPE kills them (Node ignores the signal, so the
 * write fails instead): at once, without a word — no "fatal: unexpected error" and stack, which could not be read
 * anyway — and with status 141, not 0: without `pipefail` the pipeline's status is the reader's, so `| head` stays
 * quiet and successful, and with it a script learns that the output was cut short, as it does of `cat`, `seq` or
 * `grep`. Before, a closed stdout exited 0 (a cut-short listing passed for a whole one) and a closed stderr crashed
 * with exit 1; the two are now the same. A command that sends (finishWorkWhenOutputCloses) is not ended.
 */
export function exitQuietlyWhenOutputCloses(): void {
  const onError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') return outputClosed();
    throw err;
  };
  process.stdout.on('error', onError);
  process.stderr.on('error', onError);
}

/**
 * The logger writes to stderr through a stream of its own (pino's), which goes silent on EPIPE and tells nobody:
 * handed to it as its closed-output hook, its closed pipe counts as stderr's for a command that finishes its work.
 * Elsewhere it changes nothing (a short command learns of the pipe at its own next write, and ends there).
 */
export function logOutputClosed(): void {
  if (finishing) outputClosed();
}

/**
 * For a command whose work a closed display pipe must not cut short (`bulksms send … 2>&1 | head`, a worker whose
 * log reader died): ended at its next progress line, a send left the requests in flight to become `unknown` and
 * the campaign running with nobody sending it. From now on a closed stdout or stderr (or the logger's) makes later
 * output go nowhere and calls `onClosed` once (a worker stops there as on SIGTERM; a send carries on to its end);
 * the process still ends with 141 instead of 0, so `set -o pipefail` learns that the output was cut short — a
 * failure status (1, 2) is kept, being the more telling.
 */
export function finishWorkWhenOutputCloses(onClosed: () => void = () => undefined): void {
  finishing = { onClosed };
  process.once('exit', () => {
    if (closedWhileFinishing && !process.exitCode) process.exitCode = CLOSED_PIPE_EXIT;
  });
}
