/** Local-directory archive destination: write to `.name.tmp-<pid>`, fsync, rename, fsync the directory. */
import { createReadStream } from 'node:fs';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PRIVATE_DIR, PRIVATE_FILE } from '../lib/private-files';
import { ConflictError, ValidationError } from '../errors';
import type { ArchiveDestination, StagedFile } from './destination';
import { MANIFEST_NAME } from './destination';
import { destinationFsError } from './fs-errors';
import { processAlive } from '../lib/process-alive';

const TEMP = /^\..+\.tmp-\d+-[0-9a-f]+$/;

async function fsyncPath(p: string, flags: string): Promise<void> {
  const fh = await open(p, flags);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The path itself or its nearest ancestor that exists (a component that is a file ends the walk: ENOTDIR). */
async function nearestExisting(p: string): Promise<{ path: string; isDirectory: boolean }> {
  for (let cur = p; ; cur = path.dirname(cur)) {
    try {
      return { path: cur, isDirectory: (await stat(cur)).isDirectory() };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || cur === path.dirname(cur)) throw err;
    }
  }
}

/**
 * Kernel pseudo-file systems hold no archive — and under /proc Node's recursive mkdir never returns (mkdir answers
 * ENOENT, its parent exists: it retries forever at 100% CPU).
 */
const PSEUDO_FS = ['/proc', '/sys', '/dev'];

/**
 * What `prepare` checks, without creating or writing anything (`--dry-run`): not under a pseudo-file system, the path
 * or its nearest existing ancestor a directory, and that one writable (root passes the write check anyway).
 */
async function checkRoot(root: string): Promise<void> {
  const existing = await nearestExisting(root);
  // The real path, so a symlink into /proc is caught too.
  const real = await realpath(existing.path);
  const pseudo = PSEUDO_FS.find((p) => real === p || real.startsWith(`${p}/`));
  if (pseudo) {
    throw new ValidationError(`archive destination ${root} is under ${pseudo}, a kernel pseudo-file system; choose a directory on a disk for --dest (or ARCHIVE_DEST)`, 'dest');
  }
  if (!existing.isDirectory) {
    throw new ValidationError(`archive destination ${root}: ${existing.path} is a file, not a directory; choose a directory for --dest (or ARCHIVE_DEST)`, 'dest');
  }
  await access(existing.path, constants.W_OK | constants.X_OK);
}

/** The destination can hold files: a directory (created if missing), writable. Says which and why otherwise. */
async function prepareRoot(root: string): Promise<void> {
  await checkRoot(root);
  await mkdir(root, { recursive: true, mode: PRIVATE_DIR });
  // Up front rather than at the first file: a whole run is exported before its temp file would be renamed.
  await access(root, constants.W_OK | constants.X_OK);
}

/** Writes `text` to a private file opened with `flags` ('wx': only if it does not exist) and syncs it to disk. */
async function writeSynced(file: string, text: string, flags: 'w' | 'wx'): Promise<void> {
  const fh = await open(file, flags, PRIVATE_FILE);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The destination's lock file: who holds it (host and pid), so a lock of an archive killed on this host is taken over. */
export const LOCK_NAME = '.archive.lock';

/**
 * One archive per destination directory, whatever database it archives: two (staging and production sharing
 * ARCHIVE_DEST) each rewrote the manifest from their own copy — the other's new entries, files of rows already
 * deleted, were lost to `restore` — and each one's start removed the other's temp files. The database's advisory
 * lock cannot see an archive of another database.
 */
async function lockRoot(root: string): Promise<() => Promise<void>> {
  const file = path.join(root, LOCK_NAME);
  const me = JSON.stringify({ host: os.hostname(), pid: process.pid });
  for (let attempt = 0; ; attempt++) {
    try {
      await writeSynced(file, me, 'wx');
      return async () => {
        await unlink(file).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const holder = await readFile(file, 'utf8').then(
      (t) => JSON.parse(t) as { host?: unknown; pid?: unknown },
      () => ({}) as { host?: unknown; pid?: unknown },
    );
    // Left by an archive killed on this host (its process is gone): taken over. Anything else is another archive, or
    // one killed on another host, which only the operator can tell.
    if (holder.host === os.hostname() && typeof holder.pid === 'number' && !processAlive(holder.pid)) {
      await unlink(file).catch(() => undefined);
      continue;
    }
    throw new ConflictError(
      `archive destination ${root} is in use by another archive (${String(holder.host)} pid ${String(holder.pid)}); ` +
        `run again once it has finished — if none is running, remove ${file}`,
    );
  }
}

export function createLocalDestination(dir: string): ArchiveDestination {
  const root = path.resolve(dir);
  const full = (key: string) => {
    const p = path.resolve(root, key);
    if (!p.startsWith(root + path.sep)) throw new Error(`archive key escapes the destination: ${key}`);
    return p;
  };
  const tempFor = (final: string) =>
    path.join(path.dirname(final), `.${path.basename(final)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);

  const wrapped = async <T>(action: 'read' | 'write', file: string | undefined, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw destinationFsError(err, root, action, file);
    }
  };
  let prepared: Promise<void> | undefined;
  const prepare = () => (prepared ??= wrapped('write', undefined, () => prepareRoot(root)));

  async function publish(temp: string, final: string): Promise<void> {
    await fsyncPath(temp, 'r');
    await rename(temp, final);
    await fsyncPath(path.dirname(final), 'r');
  }

  return {
    location: root,
    manifestLocation: path.join(root, MANIFEST_NAME),
    prepare,
    check: () => wrapped('write', undefined, () => checkRoot(root)),
    async stage(key): Promise<StagedFile> {
      const final = full(key);
      await prepare();
      await wrapped('write', key, () => mkdir(path.dirname(final), { recursive: true, mode: PRIVATE_DIR }));
      const temp = tempFor(final);
      return { path: temp, commit: () => wrapped('write', key, () => publish(temp, final)), discard: () => rm(temp, { force: true }) };
    },
    async read(key) {
      const p = full(key);
      try {
        const fh = await open(p, 'r');
        await fh.close();
      } catch (err) {
        // Only a file that is not there is "missing"; one that cannot be read (permissions, I/O) is said as such.
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return null;
        throw destinationFsError(err, root, 'read', key);
      }
      return createReadStream(p);
    },
    async readText(key) {
      try {
        return await readFile(full(key), 'utf8');
      } catch (err) {
        // ENOTDIR: a part of the path is a file (`bulksms restore notes.txt` looks for notes.txt/manifest.json).
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return null;
        throw destinationFsError(err, root, 'read', key);
      }
    },
    async writeText(key, text) {
      const final = full(key);
      await prepare();
      await wrapped('write', key, async () => {
        await mkdir(path.dirname(final), { recursive: true, mode: PRIVATE_DIR });
        const temp = tempFor(final);
        await writeSynced(temp, text, 'w');
        await rename(temp, final);
        await fsyncPath(path.dirname(final), 'r');
      });
    },
    async lock() {
      await prepare();
      return wrapped('write', LOCK_NAME, () => lockRoot(root));
    },
    async cleanupStaging() {
      let removed = 0;
      const walk = async (d: string): Promise<void> => {
        const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
        for (const e of entries) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) await walk(p);
          else if (TEMP.test(e.name)) {
            await rm(p, { force: true });
            removed++;
          }
        }
      };
      await walk(root);
      return removed;
    },
  };
}
