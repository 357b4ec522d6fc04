import type { Writable } from 'node:stream';
import { createLogger, scrubString } from '../../../src/logger';
import { secretValues } from '../../../src/config';
import { logSink } from '../../helpers/log-sink';

const KEY = '3f8a1c2e-9b7d-4e6f-a1b2-c3d4e5f60718';

function capture(): { stream: Writable; text: () => string } {
  const { destination, text } = logSink();
  return { stream: destination, text };
}

describe('logger redaction of the 2Factor API key', () => {
  it('removes the key from fields at any depth, URLs, form bodies, messages and errors at debug level', () => {
    const out = capture();
    const log = createLogger({ level: 'debug', secrets: [KEY], destination: out.stream });
    const url = `https://2factor.in/API/V1/${KEY}/ADDON_SERVICES/BAL/TRANSACTIONAL_SMS`;
    const body = `module=TRANS_SMS&apikey=${KEY}&to=919876543210&from=ACMEIN&msg=hi`;
    const err = Object.assign(new Error(`request to ${url} failed`), { config: { url, data: body, nested: { deep: { apiKey: KEY } } } });
    log.debug({ req: { url, body, headers: { authorization: `Bearer ${KEY}` } }, provider: { apiKey: KEY } }, 'sending');
    log.debug({ a: { b: { c: { d: { secretish: KEY } } } } }, 'deep value');
    log.error({ err }, 'provider request failed');
    log.info(`interpolated %s`, KEY);
    log.child({ apiKey: KEY }).info('child bindings');
    const text = out.text();
    expect(text).toContain('sending');
    expect(text).toContain('provider request failed');
    expect(text).toContain('[REDACTED]');
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(KEY.slice(0, 18));
  });

  it('scrubs a child logger’s bindings (they bypass the per-call hook)', () => {
    const out = capture();
    const log = createLogger({ level: 'info', secrets: [KEY], destination: out.stream });
    log.child({ url: `https://2factor.in/API/V1/${KEY}/BAL`, note: `key ${KEY}` }).info('child with a URL');
    expect(out.text()).toContain('child with a URL');
    expect(out.text()).not.toContain(KEY);
  });

  it('logs a line holding bytes instead of throwing, without the bytes', () => {
    const out = capture();
    const log = createLogger({ level: 'info', secrets: [KEY], destination: out.stream });
    expect(() => log.info({ body: Buffer.from(`apikey=${KEY}`), err: Object.assign(new Error('boom'), { raw: Buffer.from('x') }) }, 'with bytes')).not.toThrow();
    expect(out.text()).toContain('with bytes');
    expect(out.text()).toContain('[Buffer');
    expect(out.text()).not.toContain(KEY);
  });

  it('scrubs apikey parameters and V1 paths even when the key is not configured', () => {
    const out = capture();
    const log = createLogger({ level: 'debug', destination: out.stream });
    log.debug({ url: 'https://2factor.in/API/V1/unknown-key-123/BAL/SMS', body: 'apikey=zzz-secret&to=1' }, 'x');
    expect(out.text()).not.toContain('unknown-key-123');
    expect(out.text()).not.toContain('zzz-secret');
  });
});

describe('logger redaction of connection passwords', () => {
  it('scrubs the password of any scheme://user:password@ URL, and configured URL passwords wherever they appear', () => {
    const out = capture();
    const config = { DATABASE_URL: 'postgresql://app:pg%2Fpass-123@db:5432/bulksms', REDIS_URL: 'redis://:redis-pass-456@cache:6379' };
    const log = createLogger({ level: 'debug', secrets: secretValues(config), destination: out.stream });
    const err = Object.assign(new Error('WRONGPASS invalid username-password pair'), { command: { name: 'hello', args: ['3', 'AUTH', 'default', 'redis-pass-456'] } });
    log.warn({ err }, 'redis connection error');
    log.error({ url: 'postgres://u:pg/pass-123@db/x', s3: 'http://minio:s3-secret-789@127.0.0.1:9000/b' }, 'connect failed');
    const text = out.text();
    expect(text).toContain('WRONGPASS');
    expect(text).toContain('postgres://u:[REDACTED]@db/x');
    for (const secret of ['redis-pass-456', 'pg/pass-123', 'pg%2Fpass-123', 's3-secret-789']) expect(text).not.toContain(secret);
  });

  it('scrubs a large provider answer in linear time (it is scrubbed before it is stored or logged)', () => {
    const started = performance.now();
    expect(scrubString(`${'a.'.repeat(100_000)} x://u:p-secret@h`, [])).toMatch(/ x:\/\/u:\[REDACTED\]@h$/);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
