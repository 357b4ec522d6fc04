/** Spawns test/helpers/worker-process.ts as a real OS process (for SIGKILL and multi-process tests). */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { SenderStats } from '../../src/sending/batch-sender';

export interface WorkerProcess {
  child: ChildProcess;
  /** Last `stats` line the worker printed. */
  stats(): SenderStats | null;
  exited: Promise<number | null>;
}

export async function spawnWorkerProcess(env: Record<string, string>, timeoutMs = 30_000): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'worker-process.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let last: string | null = null;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${stderr}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      const text = d.toString();
      for (const m of text.matchAll(/stats (\{.*\})/g)) last = m[1]!;
      if (text.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}: ${stderr}`));
    });
  });
  return {
    child,
    stats: () => (last ? (JSON.parse(last) as SenderStats) : null),
    exited,
  };
}
