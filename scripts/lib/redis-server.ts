/**
 * A Redis server of one's own on a free port, to stop and restart at will (the shared one on 6379 serves every
 * other test and run on the machine). Started like the brief's machine and many deployments run it, without
 * persistence: a restart drops every connection and loses every key. Used by the Redis-restart test and chaos row.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from './free-port';

export interface RedisServer {
  readonly url: string;
  /** SIGKILL: every connection drops and every key is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty; resolves once it answers PING. */
  start(): Promise<void>;
}

/** `password`: the server requires it (`requirepass`); `url` carries none, so a client can be given a wrong one. */
export async function startRedisServer(opts: { password?: string } = {}): Promise<RedisServer> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const auth = opts.password ? ['--requirepass', opts.password] : [];
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...auth], { stdio: 'ignore' });
    // Never outlives its owner (a failed test or an interrupted chaos run left one listening).
    const reap = (): void => void server.kill('SIGKILL');
    process.once('exit', reap);
    server.once('exit', () => process.off('exit', reap));
    child = server;
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, password: opts.password });
    probe.on('error', () => undefined); // refused until the server listens: retried below
    for (let i = 0; ; i++) {
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const stop = async (): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url, stop, start };
}
