/**
 * Passwords in DATABASE_URL / REDIS_URL never reach a log line or an error message. ioredis puts the password it
 * sent in its errors (`command.args` of the HELLO/AUTH that failed), and the container logs Redis errors at warn;
 * BullMQ prints a queue's unheard 'error' events raw.
 */
import { useTestEnv } from '../../helpers/env';
import { spawn } from 'node:child_process';
import { BIN, runCli } from '../../helpers/cli';
import { startRedisServer, type RedisServer } from '../../../scripts/lib/redis-server';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const WRONG = 'Wrong-redis-pass-7f3c';
const env = useTestEnv({ LOG_LEVEL: 'debug' });
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisServer({ password: 'Right-redis-pass-91ab' });
});
env.cleanup(() => redis?.stop());

it('a wrong Redis password is logged as WRONGPASS without the password, in the log and in a failing command', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-urlpw-'));
  const csv = path.join(dir, 'c.csv');
  await writeFile(csv, 'phone\n9876543210\n');
  const redisUrl = redis.url.replace('redis://', `redis://:${WRONG}@`);
  const imported = await runCli(['import', csv, '--list', 'pw', '--json'], { ...env.env, REDIS_URL: redisUrl });
  const status = await runCli(['campaign', 'status', '00000000-0000-4000-8000-000000000000', '--json'], { ...env.env, REDIS_URL: redisUrl });
  const output = [imported.stdout, imported.stderr, status.stdout, status.stderr].join('\n');
  expect(output).toContain('WRONGPASS'); // the Redis error really was reported
  expect(output).not.toContain(WRONG);
});

it('serve with a wrong Redis password reports the refusal through the logger, never the password', async () => {
  const redisUrl = redis.url.replace('redis://', `redis://:${WRONG}@`);
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
    env: { ...process.env, ...env.env, REDIS_URL: redisUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  // The /queues handles' own report of the refusal: logged (redacted) now, printed raw by BullMQ before.
  for (let waited = 0; !stderr.includes(WRONG) && !/"msg":"queue error"/.test(stderr); waited += 50) {
    if (waited > 30_000) throw new Error(`no queue error reported: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGTERM');
  await exited;
  expect(stderr).toContain('WRONGPASS');
  expect(stderr).not.toContain(WRONG);
}, 60_000);
