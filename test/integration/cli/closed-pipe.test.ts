/**
 * A reader that goes away early (`bulksms … | head -1`, `bulksms … 2>&1 | head -1`): the command ends as a Unix tool
 * killed by SIGPIPE does, at once and without a word, status 141 — whichever of stdout or stderr was closed. Through
 * a real shell: without `pipefail` the pipeline is the reader's success; with it, the cut-short output shows.
 */
import { execFile, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { BIN } from '../../helpers/cli';

jest.setTimeout(60_000);

function bulksms(args: string[], close: 'stdout' | 'stderr'): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  if (close === 'stdout') child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // Gone before the command writes: its first write meets the closed pipe.
  child[close].destroy();
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

function shell(script: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile('bash', ['-c', script], { cwd: tmpdir(), timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr }))),
  );
}

describe('a pipe closed by its reader', () => {
  it('on stdout: exit 141 and no error text', async () => {
    expect(await bulksms(['--help'], 'stdout')).toEqual({ code: 141, stderr: '' });
  });

  it('on stderr (a usage error to say there): exit 141, as on stdout, not a crash', async () => {
    expect(await bulksms(['no-such-command'], 'stderr')).toEqual({ code: 141, stderr: '' });
  });

  it('through a shell: `| head -1` is quiet and succeeds, `set -o pipefail` sees the 141', async () => {
    // The usage error is printed once the reader (which reads nothing: it notes its pid and exits) is gone.
    const script = (pipefail: boolean): string =>
      `${pipefail ? 'set -o pipefail; ' : ''}pid=$(mktemp); ` +
      `{ while [ ! -s "$pid" ] || kill -0 "$(cat "$pid")" 2>/dev/null; do sleep 0.05; done; node ${JSON.stringify(BIN)} no-such-command 2>&1; } ` +
      `| { echo $BASHPID > "$pid"; }; echo "status $?"; rm -f "$pid"`;
    expect(await shell(script(false))).toEqual({ stdout: 'status 0\n', stderr: '' });
    expect(await shell(script(true))).toEqual({ stdout: 'status 141\n', stderr: '' });
  });
});
