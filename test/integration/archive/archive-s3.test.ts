import { createHash } from 'node:crypto';
import { parseManifest } from '../../../src/archive/manifest';
import { runCli } from '../../helpers/cli';
import { useTestEnv } from '../../helpers/env';
import { runDigest, seedRuns } from '../../helpers/archive-fixtures';
import { startS3Server, type S3Server } from '../../helpers/s3-server';

let s3: S3Server;
// Several CLI subprocesses per test (tsx start-up is slow on a busy machine).
jest.setTimeout(180_000);
const env = useTestEnv();

beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.close();
});

describe('archive to an S3-compatible destination (AWS SDK v3, path style)', () => {
  it('uploads files + manifest under the prefix and restores from the s3:// manifest', async () => {
    const c = env.container();
    const [runId] = await seedRuns(c.pg, [{ rows: 75, endedDaysAgo: 400 }]);
    const before = await runDigest(c.pg, runId!);
    const s3Env = {
      ...env.env,
      ARCHIVE_S3_ENDPOINT: s3.url,
      ARCHIVE_S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'minioadmin',
      AWS_SECRET_ACCESS_KEY: 'minioadmin',
    };
    const res = await runCli(['archive', '--dest', 's3://bulksms-archive/prod/', '--json'], s3Env);
    // (The SDK prints a Node-20 support notice on stderr; anything else would be a problem.)
    expect(res.stderr).not.toMatch(/error/i);
    expect(JSON.parse(res.stdout)).toMatchObject({ runs: 1, rows: 75, files: 1, manifest: 's3://bulksms-archive/prod/manifest.json' });
    expect([...s3.objects.keys()].sort()).toEqual(['bulksms-archive/prod/manifest.json', `bulksms-archive/prod/runs/${runId}-1-75.copy.gz`]);
    const manifest = parseManifest(s3.objects.get('bulksms-archive/prod/manifest.json')!.toString('utf8'), 's3');
    const file = s3.objects.get(`bulksms-archive/prod/${manifest.files[0]!.file}`)!;
    expect(createHash('sha256').update(file).digest('hex')).toBe(manifest.files[0]!.sha256);
    // Encrypted at rest by default (ARCHIVE_S3_SSE=AES256): every number and message text is in these files.
    const puts = s3.requests.filter((r) => r.method === 'PUT');
    expect(puts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(puts.map((r) => r.headers['x-amz-server-side-encryption']))).toEqual(new Set(['AES256']));
    expect((await runDigest(c.pg, runId!)).rows).toBe(0);

    const restored = await runCli(['restore', 's3://bulksms-archive/prod/manifest.json', '--json'], s3Env);
    expect(JSON.parse(restored.stdout)).toEqual({ runs: 1, rows: 75, inserted: 75, files: 1 });
    expect(await runDigest(c.pg, runId!)).toEqual(before);

    const missing = await runCli(['restore', 's3://bulksms-archive/other/manifest.json', '--json'], s3Env);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).error.code).toBe('not_found');
  });
});
