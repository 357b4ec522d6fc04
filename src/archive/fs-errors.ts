/**
 * File-system errors of an archive destination, said for an operator: Node's own messages ("ENOSPC: no space left
 * on device, write", "ENOTDIR: not a directory, mkdir …") name neither the destination nor what to do about it.
 * A destination that cannot hold files (a file in the way, not writable) is bad input (exit 2); a full disk or an
 * I/O error is a runtime failure (exit 1), and a re-run resumes once it is fixed.
 */
import { AppError, ServiceError, ValidationError } from '../errors';

const NOT_A_DIRECTORY = new Set(['ENOTDIR', 'EEXIST', 'EISDIR']);
const NO_PERMISSION = new Set(['EACCES', 'EPERM', 'EROFS']);
const FULL = new Set(['ENOSPC', 'EDQUOT']);
// Only file-system codes: the export's errors include the database connection's (ECONNRESET is no destination's fault).
const OTHER_FS = new Set(['EIO', 'EFBIG', 'ENAMETOOLONG', 'ELOOP', 'EMFILE', 'ENFILE', 'ENOENT', 'EBUSY']);

/** `err` as an AppError naming the destination (and the file, when known); anything not a file-system error unchanged. */
export function destinationFsError(err: unknown, destination: string, action: 'read' | 'write', file?: string): unknown {
  // Duck-typed: Node's own errors fail `instanceof Error` across realms (jest's vm contexts).
  if (err instanceof AppError || typeof err !== 'object' || err === null) return err;
  const { code, message } = err as NodeJS.ErrnoException;
  if (typeof code !== 'string') return err;
  const where = `archive destination ${destination}${file ? ` (${file})` : ''}`;
  // Only an archive writes; a restore names its manifest instead of --dest.
  const choose = action === 'write' ? 'choose another --dest (or ARCHIVE_DEST)' : 'check the path';
  if (FULL.has(code)) {
    return new ServiceError(
      `${where}: no space left (${message}); free space or ${choose}, then re-run: an interrupted archive resumes, and no row is deleted before its file is verified`,
      { cause: err },
    );
  }
  if (NO_PERMISSION.has(code)) {
    return new ValidationError(`${where} is not ${action === 'write' ? 'writable' : 'readable'} by this user (${message}); fix its permissions or ${choose}`, 'dest', {
      cause: err,
    });
  }
  if (NOT_A_DIRECTORY.has(code)) {
    return new ValidationError(`${where}: a part of the path is a file, not a directory (${message}); ${choose}`, 'dest', { cause: err });
  }
  if (OTHER_FS.has(code)) return new ServiceError(`${where}: cannot ${action} (${message})`, { cause: err });
  return err;
}
