/**
 * S3-compatible archive destination (AWS S3, MinIO, ...) through the AWS SDK v3. Files are staged in the
 * OS temp directory and published with one PutObject, which S3 makes visible atomically.
 * Credentials come from the SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile, role).
 */
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client, type PutObjectCommandInput, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ServiceError } from '../errors';
import { MANIFEST_NAME, parseS3Url, s3Key, type ArchiveDestination } from './destination';
import { processAlive } from '../lib/process-alive';

export interface S3Options {
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** Server-side encryption asked of S3 on every upload (ARCHIVE_S3_SSE); the tests' callers may leave it out. */
  encryption?: S3Encryption;
  /** KMS key for `aws:kms` (unset: the account's aws/s3 key). */
  kmsKeyId?: string;
  /** Where files are staged before upload (default: the OS temp directory). */
  stagingDir?: string;
}

export type S3Encryption = 'AES256' | 'aws:kms' | 'none';

/**
 * The PutObject fields that make S3 encrypt an object at rest. Asked on every upload rather than left to the bucket's
 * default encryption: the files hold every recipient's number and message text, and that default is another team's
 * setting (off on older buckets and on many S3 look-alikes). Archives are single PutObjects: no multipart parts.
 */
export function encryptionFields(encryption: S3Encryption, kmsKeyId?: string): Pick<PutObjectCommandInput, 'ServerSideEncryption' | 'SSEKMSKeyId'> {
  if (encryption === 'none') return {};
  if (encryption === 'AES256') return { ServerSideEncryption: 'AES256' };
  return { ServerSideEncryption: 'aws:kms', ...(kmsKeyId ? { SSEKMSKeyId: kmsKeyId } : {}) };
}

export function s3ClientConfig(opts: S3Options): S3ClientConfig {
  return {
    region: opts.region,
    forcePathStyle: opts.forcePathStyle,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    // Only the checksums S3 requires: S3 look-alikes (older MinIO, Ceph) reject the SDK's default
    // trailing CRC32 on streamed uploads. Integrity is ours anyway: SHA-256 re-read after upload.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/** Staging directories in the OS temp dir: `bulksms-archive-<pid>-<random>`, the pid of the archive writing there. */
const STAGING_PREFIX = 'bulksms-archive-';
const STAGING_DIR = /^bulksms-archive-(\d+)-[A-Za-z0-9]+$/;

/**
 * Removes the staging directories of archives that are gone (killed mid-export): each held a whole run's messages —
 * every recipient's number — and stayed in the temp directory for good. One whose process still runs is another
 * archive's (another database's) and is left alone.
 */
export async function cleanupS3Staging(tmp = os.tmpdir()): Promise<number> {
  let removed = 0;
  for (const name of await readdir(tmp).catch(() => [])) {
    const m = STAGING_DIR.exec(name);
    if (!m || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    // The OS temp directory is everyone's: a name that looks like ours may be another user's directory (another
    // service user's archive, or one planted to be deleted), or not a directory at all. Only our own directories
    // are removed; as root, another's was deleted, and as anyone else the rm's EPERM failed the whole archive.
    const entry = path.join(tmp, name);
    const info = await lstat(entry).catch(() => null);
    if (!info?.isDirectory() || (process.getuid !== undefined && info.uid !== process.getuid())) continue;
    await rm(entry, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/**
 * What to do when an upload fails on its server-side encryption: an S3 look-alike without it (MinIO without a KMS
 * answers NotImplemented "Server side encryption specified but KMS is not configured") or a KMS key the role may not
 * use. S3's words alone do not name the setting that asked for it.
 */
export function encryptionHint(encryption: S3Encryption, err: unknown): string {
  if (encryption === 'none') return '';
  const e = err as { name?: string; message?: string };
  if (e.name !== 'NotImplemented' && !/encrypt|kms/i.test(e.message ?? '')) return '';
  const fix =
    encryption === 'aws:kms'
      ? 'check ARCHIVE_S3_SSE_KMS_KEY_ID and that the archiving role may use the key (kms:GenerateDataKey)'
      : 'set up its server-side encryption';
  return ` (ARCHIVE_S3_SSE=${encryption} asks the store to encrypt the archive; ${fix}, or set ARCHIVE_S3_SSE=none for a store without it)`;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

export function createS3Destination(spec: string, opts: S3Options, client = new S3Client(s3ClientConfig(opts))): ArchiveDestination {
  const loc = parseS3Url(spec);
  const location = `s3://${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ''}`;
  const encryptionSetting = opts.encryption ?? 'AES256';
  const encryption = encryptionFields(encryptionSetting, opts.kmsKeyId);
  const wrap = (what: string, key: string, err: unknown) =>
    new ServiceError(`S3 ${what} ${location}/${key} failed: ${(err as Error).message}`, { cause: err });
  const putFailed = (key: string, err: unknown) =>
    new ServiceError(`S3 put ${location}/${key} failed: ${(err as Error).message}${encryptionHint(encryptionSetting, err)}`, { cause: err });

  async function get(key: string): Promise<Readable | null> {
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: s3Key(loc, key) }));
      return res.Body instanceof Readable ? res.Body : null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw wrap('get', key, err);
    }
  }

  return {
    location,
    manifestLocation: `${location}/${MANIFEST_NAME}`,
    // A bucket's permissions show only at the first PutObject; nothing to create beforehand.
    prepare: async () => undefined,
    // Reading the manifest (which a dry run does) is what reaches the bucket without writing.
    check: async () => undefined,
    async stage(key) {
      const dir = await mkdtemp(path.join(opts.stagingDir ?? os.tmpdir(), `${STAGING_PREFIX}${process.pid}-`));
      const file = path.join(dir, path.basename(key));
      return {
        path: file,
        async commit() {
          try {
            const { size } = await stat(file);
            await client.send(
              new PutObjectCommand({ Bucket: loc.bucket, Key: s3Key(loc, key), Body: createReadStream(file), ContentLength: size, ...encryption }),
            );
          } catch (err) {
            throw putFailed(key, err);
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        },
        discard: () => rm(dir, { recursive: true, force: true }),
      };
    },
    read: get,
    async readText(key) {
      const body = await get(key);
      if (!body) return null;
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(Buffer.from(c as Buffer));
      return Buffer.concat(chunks).toString('utf8');
    },
    async writeText(key, text) {
      try {
        await client.send(
          new PutObjectCommand({ Bucket: loc.bucket, Key: s3Key(loc, key), Body: text, ContentType: 'application/json', ...encryption }),
        );
      } catch (err) {
        throw putFailed(key, err);
      }
    },
    // No lock object: S3 has no atomic create-if-absent that every S3 look-alike honours. Two databases must not
    // archive to one prefix at the same time (each rewrites the manifest from its own copy).
    lock: async () => async () => undefined,
    cleanupStaging: () => cleanupS3Staging(opts.stagingDir),
  };
}
