/**
 * projectPath() finds the project root from wherever the module runs: from src/ (tsx, tests) and from a
 * compiled copy deeper down (dist/src/lib, as in the Docker image), where paths joined from __dirname missed it.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { transformFileSync } from '@swc/core';
import { MIGRATIONS_DIR } from '../../../src/db/migrate';
import { projectPath } from '../../../src/lib/project-path';

const ROOT = path.join(__dirname, '..', '..', '..');

describe('projectPath', () => {
  it('points at the repository root from src/', () => {
    expect(projectPath()).toBe(ROOT);
    expect(existsSync(projectPath('bin', 'bulksms.js'))).toBe(true);
    expect(existsSync(path.join(MIGRATIONS_DIR, 'migration_lock.toml'))).toBe(true);
  });

  it('points at the same root from a compiled copy two levels deeper (dist/src/lib)', () => {
    const dir = path.join(ROOT, 'test-artifacts', 'dist-probe', 'src', 'lib');
    mkdirSync(dir, { recursive: true });
    try {
      const { code } = transformFileSync(path.join(ROOT, 'src', 'lib', 'project-path.ts'), {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      });
      const file = path.join(dir, 'project-path.js');
      writeFileSync(file, code);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const compiled = require(file) as { projectPath: (...parts: string[]) => string };
      expect(compiled.projectPath('prisma', 'migrations')).toBe(path.join(ROOT, 'prisma', 'migrations'));
    } finally {
      rmSync(path.join(ROOT, 'test-artifacts', 'dist-probe'), { recursive: true, force: true });
    }
  });
});
