/** Permission bits of files and directories, for tests that check recipients' data is private to its owner. */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** `0600`-style octal text of a path's permission bits. */
export function modeOf(p: string): string {
  return (statSync(p).mode & 0o777).toString(8).padStart(4, '0');
}

/** Every file and directory under `root` (itself excluded) with its mode, paths relative to `root`. */
export function modesUnder(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      out[path.relative(root, p)] = modeOf(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

/**
 * Runs with the common umask 022, under which files created without an explicit mode come out 0644: the test
 * then shows the product's own modes, whatever umask the machine running it has.
 */
export function withUmask022(): void {
  let saved: number;
  beforeAll(() => {
    saved = process.umask(0o022);
  });
  afterAll(() => {
    process.umask(saved);
  });
}
