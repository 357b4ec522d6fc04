import { writeFile } from 'node:fs/promises';
import { destinationFsError } from '../../../src/archive/fs-errors';
import { AppError, ServiceError, ValidationError } from '../../../src/errors';

/** The error Node gives for a call that failed with `code` (tests run as root: EACCES cannot be provoked). */
function errno(code: string, syscall: string, file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed, ${syscall} '${file}'`), { code, syscall, path: file, errno: -1 });
}

describe('destinationFsError', () => {
  it('a full disk: exit 1, naming the destination and the file, saying what to do', async () => {
    // /dev/full answers every write with ENOSPC: the real error, as a disk-full export gets it.
    const full = await writeFile('/dev/full', 'x').then(
      () => null,
      (err: unknown) => err,
    );
    const wrapped = destinationFsError(full, '/srv/archive', 'write', '/srv/archive/runs/.r.copy.gz.tmp-1-ab');
    expect(wrapped).toBeInstanceOf(ServiceError);
    expect((wrapped as AppError).exitCode).toBe(1);
    expect((wrapped as Error).message).toMatch(/^archive destination \/srv\/archive \(\/srv\/archive\/runs\/\.r\.copy\.gz\.tmp-1-ab\): no space left \(ENOSPC/);
    expect((wrapped as Error).message).toContain('free space or choose another --dest');
  });

  it.each(['EACCES', 'EPERM', 'EROFS'])('%s on write: exit 2, "not writable", naming the destination', (code) => {
    const wrapped = destinationFsError(errno(code, 'open', '/srv/archive/manifest.json'), '/srv/archive', 'write', 'manifest.json');
    expect(wrapped).toBeInstanceOf(ValidationError);
    expect((wrapped as AppError).exitCode).toBe(2);
    expect((wrapped as Error).message).toMatch(/^archive destination \/srv\/archive \(manifest\.json\) is not writable by this user \(/);
    expect((wrapped as Error).message).toContain('fix its permissions or choose another --dest');
  });

  it('ENOTDIR: exit 2, "not a directory"', () => {
    const wrapped = destinationFsError(errno('ENOTDIR', 'mkdir', '/srv/f/runs'), '/srv/f', 'write');
    expect(wrapped).toBeInstanceOf(ValidationError);
    expect((wrapped as Error).message).toMatch(/^archive destination \/srv\/f: a part of the path is a file, not a directory/);
  });

  it('leaves errors that are not the file system’s alone (the export also talks to the database)', () => {
    const reset = errno('ECONNRESET', 'read', '');
    expect(destinationFsError(reset, '/srv/archive', 'write')).toBe(reset);
    const app = new ServiceError('archive of run x does not verify');
    expect(destinationFsError(app, '/srv/archive', 'write')).toBe(app);
  });
});
