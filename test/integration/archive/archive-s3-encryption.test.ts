/**
 * Archive files hold every recipient's number and message text: each upload asks S3 to encrypt it at rest
 * (x-amz-server-side-encryption), instead of trusting the bucket's default encryption to be switched on.
 * Through the real AWS SDK over HTTP to the S3 look-alike, which records the headers each request carried.
 */
import { writeFile } from 'node:fs/promises';
import { loadConfig } from '../../../src/config';
import { openDestination } from '../../../src/archive/open-destination';
import { startS3Server, type S3Server } from '../../helpers/s3-server';

let s3: S3Server;
const savedEnv = { ...process.env };

beforeAll(async () => {
  s3 = await startS3Server();
  // The SDK's default credential chain (signatures are not checked by the look-alike).
  process.env.AWS_ACCESS_KEY_ID = 'minioadmin';
  process.env.AWS_SECRET_ACCESS_KEY = 'minioadmin';
});
afterAll(async () => {
  process.env = savedEnv;
  await s3?.close();
});
beforeEach(() => {
  s3.requests.length = 0;
});

/** Uploads one run file and the manifest as `bulksms archive` does; returns the headers of every PUT. */
async function uploadWith(settings: Record<string, string>) {
  const config = loadConfig({ ARCHIVE_S3_ENDPOINT: s3.url, ARCHIVE_S3_FORCE_PATH_STYLE: 'true', ...settings });
  const dest = openDestination('s3://bulksms-archive/prod', config);
  const staged = await dest.stage('runs/r-1-2.copy.gz');
  await writeFile(staged.path, '+919800000001\tyour OTP is 1234\n');
  await staged.commit();
  await dest.writeText('manifest.json', '{}');
  const puts = s3.requests.filter((r) => r.method === 'PUT');
  expect(puts.map((r) => r.path).sort()).toEqual(['bulksms-archive/prod/manifest.json', 'bulksms-archive/prod/runs/r-1-2.copy.gz']);
  return puts.map((r) => ({
    sse: r.headers['x-amz-server-side-encryption'],
    kmsKey: r.headers['x-amz-server-side-encryption-aws-kms-key-id'],
  }));
}

describe('S3 archive uploads ask for server-side encryption', () => {
  it('by default: SSE-S3 (AES256) on the run files and the manifest', async () => {
    expect(await uploadWith({})).toEqual([
      { sse: 'AES256', kmsKey: undefined },
      { sse: 'AES256', kmsKey: undefined },
    ]);
  });

  it('ARCHIVE_S3_SSE=aws:kms with a key: SSE-KMS under that key', async () => {
    const key = 'arn:aws:kms:ap-south-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(await uploadWith({ ARCHIVE_S3_SSE: 'aws:kms', ARCHIVE_S3_SSE_KMS_KEY_ID: key })).toEqual([
      { sse: 'aws:kms', kmsKey: key },
      { sse: 'aws:kms', kmsKey: key },
    ]);
  });

  it('ARCHIVE_S3_SSE=aws:kms without a key: SSE-KMS under the account’s aws/s3 key', async () => {
    expect(await uploadWith({ ARCHIVE_S3_SSE: 'aws:kms' })).toEqual([
      { sse: 'aws:kms', kmsKey: undefined },
      { sse: 'aws:kms', kmsKey: undefined },
    ]);
  });

  it('ARCHIVE_S3_SSE=none: no header, for an S3 look-alike that refuses it', async () => {
    expect(await uploadWith({ ARCHIVE_S3_SSE: 'none' })).toEqual([
      { sse: undefined, kmsKey: undefined },
      { sse: undefined, kmsKey: undefined },
    ]);
  });

  // MinIO without a KMS answers NotImplemented: the failure says which setting to change, not only S3's words.
  it('a store refusing the header fails the upload naming ARCHIVE_S3_SSE and what to set', async () => {
    s3.refuseEncryption = true;
    try {
      const config = loadConfig({ ARCHIVE_S3_ENDPOINT: s3.url, ARCHIVE_S3_FORCE_PATH_STYLE: 'true' });
      const dest = openDestination('s3://bulksms-archive/minio', config);
      await expect(dest.writeText('manifest.json', '{}')).rejects.toThrow(
        'S3 put s3://bulksms-archive/minio/manifest.json failed: Server side encryption specified but KMS is not configured ' +
          '(ARCHIVE_S3_SSE=AES256 asks the store to encrypt the archive; set up its server-side encryption, or set ARCHIVE_S3_SSE=none for a store without it)',
      );
      expect([...s3.objects.keys()].filter((k) => k.includes('/minio/'))).toEqual([]);
    } finally {
      s3.refuseEncryption = false;
    }
  });
});
