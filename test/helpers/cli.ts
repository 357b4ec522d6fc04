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

export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile('node', [BIN, ...args], { env: { ...process.env, ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
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
