import { Command } from 'commander';
import { runProgram } from '../../../src/cli/run-program';

/** A program like ours: exits through errors, not process.exit, and writes its own messages nowhere. */
function program(): Command {
  const p = new Command('bulksms').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  p.command('import <file>').requiredOption('--list <name>').option('--json').action(() => undefined);
  return p;
}

describe('runProgram', () => {
  let out: string[];
  let spy: jest.SpyInstance;
  beforeEach(() => {
    out = [];
    process.exitCode = undefined;
    spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    spy.mockRestore();
    process.exitCode = undefined;
  });

  it('answers a usage error under --json with one JSON object on stdout, exit 2', async () => {
    await runProgram(program(), ['node', 'bulksms', 'import', 'a.csv', '--json']);
    expect(process.exitCode).toBe(2);
    expect(out).toHaveLength(1);
    expect(JSON.parse(out[0]!)).toEqual({ error: { code: 'usage', message: "required option '--list <name>' not specified" } });
  });

  it('prints nothing on stdout for a usage error without --json', async () => {
    await runProgram(program(), ['node', 'bulksms', 'import', 'a.csv']);
    expect(process.exitCode).toBe(2);
    expect(out).toEqual([]);
  });
});
