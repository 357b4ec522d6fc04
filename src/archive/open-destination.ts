import type { Config } from '../config';
import { isS3Url, type ArchiveDestination } from './destination';
import { createLocalDestination } from './local-destination';
import { createS3Destination } from './s3-destination';

export type DestinationConfig = Pick<Config, 'ARCHIVE_S3_ENDPOINT' | 'ARCHIVE_S3_REGION' | 'ARCHIVE_S3_FORCE_PATH_STYLE'>;

export function openDestination(spec: string, config: DestinationConfig): ArchiveDestination {
  if (isS3Url(spec)) {
    return createS3Destination(spec, {
      endpoint: config.ARCHIVE_S3_ENDPOINT,
      region: config.ARCHIVE_S3_REGION,
      forcePathStyle: config.ARCHIVE_S3_FORCE_PATH_STYLE,
    });
  }
  return createLocalDestination(spec);
}
