/**
 * The operator contract's entry points: `npx bulksms --help` works and names every command the contract lists,
 * an unknown command is bad usage (exit 2), and `migrate` with PostgreSQL down is a runtime failure (exit 1).
 */
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { runCli } from '../../helpers/cli';
import { closedPort } from '../../helpers/api-server';

const COMMANDS = ['migrate', 'import', 'campaign', 'worker', 'serve', 'simulator', 'send', 'suppress', 'token', 'archive', 'restore', 'demo'];
const commandsOf = (help: string): string[] =>
  [...(help.split('\nCommands:\n')[1] ?? '').matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!);

describe('bulksms --help and exit codes', () => {
  it('--help exits 0 and lists every contract command, and each command group its subcommands', async () => {
    const top = await runCli(['--help'], {});
    expect(top.code).toBe(0);
    expect(commandsOf(top.stdout)).toEqual(expect.arrayContaining(COMMANDS));
    const campaign = await runCli(['campaign', '--help'], {});
    expect(campaign.code).toBe(0);
    expect(commandsOf(campaign.stdout)).toEqual(expect.arrayContaining(['create', 'start', 'pause', 'resume', 'cancel', 'status', 'retry', 'list']));
    const list = await runCli(['list', '--help'], {});
    expect(list.code).toBe(0);
    expect(commandsOf(list.stdout)).toEqual(expect.arrayContaining(['ls', 'show']));
    const token = await runCli(['token', '--help'], {});
    expect(token.code).toBe(0);
    expect(commandsOf(token.stdout)).toEqual(expect.arrayContaining(['create', 'revoke']));
    const suppression = await runCli(['suppression', '--help'], {});
    expect(commandsOf(suppression.stdout)).toEqual(['check', 'remove', 'help']);
  }, 60_000);

  it('`campaign show <id>` is `campaign status <id>`, as `list show` shows a list', async () => {
    const r = await runCli(['campaign', 'show', 'not-an-id'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/campaign id "not-an-id" is not a UUID/);
    expect((await runCli(['campaign', '--help'], {})).stdout).toMatch(/^ {2}status\|show \[options\] <id>/m);
  }, 60_000);

  it('`send --help` names every exit code it can end with, a failed campaign\'s 1 included', async () => {
    const r = await runCli(['send', '--help'], {});
    expect(r.code).toBe(0);
    // It said "1 when it paused" only: a campaign that failed (nothing went out) exits 1 too (send.ts, README).
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/Exit code 0 when the campaign completed; 1 when it paused \(the reason is printed\), failed \(nothing went out\) or was cancelled/);
  }, 60_000);

  it('an unknown command is bad usage: exit 2 and a message saying so', async () => {
    const r = await runCli(['bogus'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'bogus'/);
    expect(r.stdout).toBe('');
  }, 60_000);

  it('migrate with PostgreSQL unreachable is a runtime failure: exit 1, one JSON error under --json', async () => {
    const r = await runCli(['migrate', '--json'], { DATABASE_URL: `postgresql://postgres@127.0.0.1:${await closedPort()}/bulksms` });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'service', message: expect.stringMatching(/ECONNREFUSED/) } });
  }, 60_000);
});

describe('a PostgreSQL that accepts connections and never answers', () => {
  let silent: Server;
  const sockets: Socket[] = [];
  let url: string;
  beforeAll(async () => {
    silent = createServer((socket) => void sockets.push(socket)); // reads nothing, answers nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    url = `postgresql://postgres@127.0.0.1:${(silent.address() as { port: number }).port}/bulksms`;
  });
  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise((resolve) => silent.close(resolve));
  });

  it.each([
    ['migrate', ['migrate', '--json']],
    ['import', ['import', path.join(__dirname, '..', '..', 'fixtures', 'import', 'numbers.csv'), '--list', 'never', '--json']],
  ])('%s gives up with a service error instead of hanging', async (_name, args) => {
    const r = await runCli(args, { DATABASE_URL: url });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'service' } });
  }, 40_000);
});
