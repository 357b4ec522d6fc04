/**
 * Error text bypasses the logger's redaction: command errors and crashes are scrubbed of the secrets the
 * environment holds (the 2Factor key travels in its URLs) before they are printed.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { reportError } from '../../../src/cli/output';
import { ValidationError } from '../../../src/errors';

const KEY = 'c0ffee00-1234-5678-9abc-def012345678';

describe('reportError', () => {
  const saved = process.env.TWOFACTOR_API_KEY;
  afterEach(() => {
    if (saved === undefined) delete process.env.TWOFACTOR_API_KEY;
    else process.env.TWOFACTOR_API_KEY = saved;
    jest.restoreAllMocks();
  });

  it('scrubs the API key from the message on stderr and in the --json object', () => {
    process.env.TWOFACTOR_API_KEY = KEY;
    const out: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    jest.spyOn(process.stderr, 'write').mockImplementation((s) => (out.push(String(s)), true));
    const code = reportError(new Error(`request to https://2factor.in/API/R1/?module=X&apikey=${KEY} failed; key ${KEY}`), { json: true });
    expect(code).toBe(1);
    expect(out.join('')).not.toContain(KEY);
    expect(out.join('')).toContain('[REDACTED]');
    expect(JSON.parse(out[0]!)).toEqual({ error: { code: 'runtime', message: expect.stringContaining('failed; key [REDACTED]') } });
  });
});

describe('reportError: services down', () => {
  afterEach(() => jest.restoreAllMocks());
  const report = (err: unknown): { code: number; json: unknown; stderr: string } => {
    const out: string[] = [];
    const errs: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    jest.spyOn(process.stderr, 'write').mockImplementation((s) => (errs.push(String(s)), true));
    const code = reportError(err, { json: true });
    return { code, json: JSON.parse(out[0]!) as unknown, stderr: errs.join('') };
  };

  it('a refused connection is code "service", like a provider that is down', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5499'), { code: 'ECONNREFUSED' });
    expect(report(err)).toMatchObject({ code: 1, json: { error: { code: 'service', message: 'connect ECONNREFUSED 127.0.0.1:5499' } } });
  });

  it("Prisma's message is cut to its reason: no quoted source code reaches the operator", () => {
    const err = new Error(
      "\nInvalid `deps.prisma.apiToken.create()` invocation in\n/app/src/access/tokens.ts:57:42\n\n  56 const token = generateToken();\n→ 57 const row = await deps.prisma.apiToken.create(\nCan't reach database server at 127.0.0.1:5499",
    );
    err.name = 'PrismaClientInitializationError';
    const r = report(err);
    expect(r.json).toEqual({ error: { code: 'service', message: "Can't reach database server at 127.0.0.1:5499" } });
    expect(r.stderr).not.toContain('tokens.ts');
  });

  it('bad input names its field in the JSON object, as the HTTP API does', () => {
    expect(report(new ValidationError('--from: "AB" must be 6 letters', 'from')).json).toEqual({
      error: { code: 'validation', message: '--from: "AB" must be 6 letters', field: 'from' },
    });
  });

  it("names a shared input by the CLI's option: `--pack` in the message, `pack` as the field", () => {
    const err = new ValidationError((n) => `${n('packSize')}: 500 is too many (see ${n('phoneColumn')})`, 'packSize');
    expect(report(err)).toEqual({
      code: 2,
      json: { error: { code: 'validation', message: '--pack: 500 is too many (see --phone-column)', field: 'pack' } },
      stderr: 'error: --pack: 500 is too many (see --phone-column)\n',
    });
  });

  it('a database not migrated says how to migrate it (PostgreSQL undefined_table, Prisma P2021)', () => {
    const pg = Object.assign(new Error('relation "campaigns" does not exist'), { code: '42P01' });
    const prisma = Object.assign(new Error('\nInvalid `prisma.apiToken.create()` invocation:\n\nThe table `public.api_tokens` does not exist in the current database.'), {
      code: 'P2021',
      name: 'PrismaClientKnownRequestError',
    });
    const hint = '(the database is not migrated: `bulksms migrate` applies the migrations)';
    expect(report(pg)).toMatchObject({ code: 1, json: { error: { code: 'runtime', message: `relation "campaigns" does not exist ${hint}` } } });
    expect(report(prisma).json).toEqual({ error: { code: 'runtime', message: `The table \`public.api_tokens\` does not exist in the current database. ${hint}` } });
  });

  it('a port in use says what to do about it (a serve or simulator started earlier is still running)', () => {
    const err = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:3000'), { code: 'EADDRINUSE' });
    expect(report(err).json).toEqual({
      error: {
        code: 'runtime',
        message: 'listen EADDRINUSE: address already in use 127.0.0.1:3000 (another process listens there, perhaps one started earlier: stop it or choose another port)',
      },
    });
  });

  it('a database not created yet says how to create it', () => {
    const err = Object.assign(new Error('database "bulksms" does not exist'), { code: '3D000' });
    expect(report(err).json).toEqual({ error: { code: 'runtime', message: 'database "bulksms" does not exist (`bulksms migrate` creates it)' } });
  });

  it('a database not created yet says how to create it when Prisma reads it too (P1003: `campaign list`, `token`, `audit`)', () => {
    const err = Object.assign(
      new Error('\nInvalid `prisma.campaign.findMany()` invocation:\n\nDatabase `bulksms_x` does not exist on the database server'),
      { code: 'P1003', name: 'PrismaClientKnownRequestError' },
    );
    expect(report(err).json).toEqual({
      error: { code: 'runtime', message: 'Database `bulksms_x` does not exist on the database server (`bulksms migrate` creates it)' },
    });
  });
});

describe('installCrashReporter', () => {
  it('reports an unhandled rejection scrubbed and exits 1', () => {
    const script = `require(${JSON.stringify(path.resolve('src/cli/output.ts'))}).installCrashReporter();
      Promise.reject(new Error('GET /API/V1/${KEY}/BAL/TRANSACTIONAL_SMS hung up; key ${KEY}'));`;
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { env: { ...process.env, TWOFACTOR_API_KEY: KEY }, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/fatal: unexpected error, exiting: Error: GET \/API\/V1\/\[REDACTED\]\/BAL/);
    expect(r.stderr).not.toContain(KEY);
  });
});

describe('installCrashReporter under --json', () => {
  const crash = (code: string) =>
    spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', code, '--', '--json'], { env: { ...process.env, TWOFACTOR_API_KEY: KEY }, encoding: 'utf8' });
  const output = JSON.stringify(path.resolve('src/cli/output.ts'));

  it('a crash is the one JSON object on stdout, as any other failure of a --json command', () => {
    const r = crash(`require(${output}).installCrashReporter(); Promise.reject(new Error('hung up; key ${KEY}'));`);
    expect(r.status).toBe(1);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'runtime', message: 'unexpected error: hung up; key [REDACTED]' } });
  });

  it('a crash after the command printed its object adds no second one', () => {
    const r = crash(
      `const o = require(${output}); o.installCrashReporter(); o.printResult({ json: true }, { added: 1 }, () => ''); Promise.reject(new Error('late'));`,
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('{"added":1}\n');
  });
});
