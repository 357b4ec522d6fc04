/**
 * Files that are not compiled — SQL migrations, bin/, scripts/, the dashboard's static files — live at the
 * project root, which is a different number of directories above this file when it runs from src/ (tsx) than
 * from dist/src/ (compiled: `BULKSMS_USE_DIST=1`, the Docker image). Paths joined from `__dirname` pointed into
 * dist/ there, where `bulksms migrate` found no migrations and `bulksms demo` no scripts/ensure-services.js.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

let root: string | undefined;

function findRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'bulksms') return dir;
    if (path.dirname(dir) === dir) throw new Error(`bulksms' package.json not found above ${__dirname}`);
  }
}

/** A path below the project root (the directory of bulksms' package.json). */
export function projectPath(...parts: string[]): string {
  root ??= findRoot();
  return path.join(root, ...parts);
}
