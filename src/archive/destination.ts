/**
 * Where archives go: a local directory (default) or an S3-compatible bucket. Files are published
 * atomically (temp name + rename locally; a single PutObject on S3), so a reader or a re-run never sees
 * a half-written file under its final name.
 */
import type { Readable } from 'node:stream';
import path from 'node:path';
import { ValidationError } from '../errors';

export const MANIFEST_NAME = 'manifest.json';

export interface StagedFile {
  /** Local path to write the content to. */
  path: string;
  /** Publish under the final key (atomic). */
  commit(): Promise<void>;
  discard(): Promise<void>;
}

export interface ArchiveDestination {
  /** `dir` or `s3://bucket/prefix`, for messages and the JSON output. */
  readonly location: string;
  /** Where the manifest lives (what `bulksms restore` takes). */
  readonly manifestLocation: string;
  /** Checks the destination can take files before anything is exported (local: a writable directory, created if missing). */
  prepare(): Promise<void>;
  /** What `prepare` checks that needs no write (`--dry-run`: a run that would fail says so, and nothing is created). */
  check(): Promise<void>;
  stage(key: string): Promise<StagedFile>;
  /** null if the key does not exist. */
  read(key: string): Promise<Readable | null>;
  readText(key: string): Promise<string | null>;
  /** Atomic replace. */
  writeText(key: string, text: string): Promise<void>;
  /**
   * Takes the destination for one archive until the returned release is called; refuses (ConflictError) while
   * another archive — of any database — holds it. Local: a lock file; S3: nothing (see s3-destination.ts).
   */
  lock(): Promise<() => Promise<void>>;
  /** Removes temp files left by a crashed run (local: in the destination; S3: its staging dirs in the OS temp dir). */
  cleanupStaging(): Promise<number>;
}

export interface S3Location {
  bucket: string;
  /** Key prefix without leading/trailing slashes ('' = bucket root). */
  prefix: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function isS3Url(spec: string): boolean {
  return /^s3:\/\//i.test(spec);
}

/** `s3://bucket/some/prefix/` → {bucket, prefix: 'some/prefix'}; names the problem otherwise. */
export function parseS3Url(spec: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(spec);
  if (!m) throw new ValidationError(`--dest: "${spec}" is not s3://bucket[/prefix]`, 'dest');
  const bucket = m[1]!;
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw new ValidationError(`--dest: "${bucket}" is not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)`, 'dest');
  }
  const prefix = m[2]!.split('/').filter(Boolean).join('/');
  if (prefix.split('/').some((p) => p === '.' || p === '..')) throw new ValidationError(`--dest: "${spec}" has a . or .. segment`, 'dest');
  return { bucket, prefix };
}

export function s3Key(loc: S3Location, key: string): string {
  return loc.prefix ? `${loc.prefix}/${key}` : key;
}

/**
 * What `restore <manifest>` points at → the destination spec holding it. Accepts the manifest file
 * itself or its directory / prefix.
 */
export function destinationOfManifest(manifest: string): { dest: string; key: string } {
  if (isS3Url(manifest)) {
    const loc = parseS3Url(manifest);
    const parts = loc.prefix.split('/').filter(Boolean);
    if (parts[parts.length - 1]?.endsWith('.json')) {
      const key = parts.pop()!;
      return { dest: `s3://${loc.bucket}${parts.length ? `/${parts.join('/')}` : ''}`, key };
    }
    return { dest: `s3://${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ''}`, key: MANIFEST_NAME };
  }
  if (manifest.endsWith('.json')) return { dest: path.dirname(path.resolve(manifest)), key: path.basename(manifest) };
  return { dest: path.resolve(manifest), key: MANIFEST_NAME };
}
