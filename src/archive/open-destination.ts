import type { Config } from '../config';
import { ValidationError } from '../errors';
import { isS3Url, type ArchiveDestination } from './destination';
import { createLocalDestination } from './local-destination';
import { createS3Destination } from './s3-destination';

export type DestinationConfig = Pick<
  Config,
  'ARCHIVE_S3_ENDPOINT' | 'ARCHIVE_S3_REGION' | 'ARCHIVE_S3_FORCE_PATH_STYLE' | 'ARCHIVE_S3_SSE' | 'ARCHIVE_S3_SSE_KMS_KEY_ID'
>;

/** `scheme://…`: a URL. Only s3:// is a destination; any other was taken for a relative directory (`ftp:` in the working directory). */
const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

export function openDestination(spec: string, config: DestinationConfig): ArchiveDestination {
  const scheme = URL_SCHEME.exec(spec)?.[1];
  if (scheme && !isS3Url(spec)) {
    // Only the scheme is named: the rest of a URL can hold credentials (https://user:password@host/…).
    throw new ValidationError(`archive destination: a ${scheme}:// URL is neither a directory nor s3://bucket[/prefix]; give one of those for --dest (or ARCHIVE_DEST)`, 'dest');
  }
  if (isS3Url(spec)) {
    return createS3Destination(spec, {
      endpoint: config.ARCHIVE_S3_ENDPOINT,
      region: config.ARCHIVE_S3_REGION,
      forcePathStyle: config.ARCHIVE_S3_FORCE_PATH_STYLE,
      encryption: config.ARCHIVE_S3_SSE,
      kmsKeyId: config.ARCHIVE_S3_SSE_KMS_KEY_ID,
    });
  }
  return createLocalDestination(spec);
}
