/** Runs `node bin/bulksms.js` in a subprocess with a test environment. */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';

export const BIN = path.join(__dirname, '..', '..', 'bin', 'bulksms.js');

export interface CliResult {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * `timeoutMs`: SIGKILL the CLI after that long (a command that may hang on the old code must still end the test).
 * `cwd`: the working directory (default the test's), for what the CLI resolves or creates relative to it.
 */
export function runCli(args: string[], env: Record<string, string>, opts: { timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const options = { env: { ...process.env, ...env }, cwd: opts.cwd, maxBuffer: 16 << 20, timeout: opts.timeoutMs ?? 0, killSignal: 'SIGKILL' as const };
    execFile('node', [BIN, ...args], options, (err, stdout, stderr) => {
      // A process killed by a signal has no exit code: it must not pass for an orderly `exit 1`.
      const e = err as (Error & { code?: number | string | null; signal?: NodeJS.Signals | null }) | null;
      if (!e) return resolve({ code: 0, signal: null, stdout, stderr });
      if (typeof e.code !== 'number' && !e.signal) return reject(e); // node itself could not be started
      resolve({ code: typeof e.code === 'number' ? e.code : null, signal: e.signal ?? null, stdout, stderr });
    });
  });
}

/** Starts the CLI and SIGKILLs it as soon as a stderr line matches `when`; resolves with the match. */
export function runCliAndKill(args: string[], env: Record<string, string>, when: RegExp): Promise<CliResult & { match: RegExpMatchArray | null }> {
  return new Promise((resolve) => {
    const child = spawn('node', [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let match: RegExpMatchArray | null = null;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!match) {
        match = stderr.match(when);
        if (match) child.kill('SIGKILL');
      }
    });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, match }));
  });
}
