import { loadConfig, ConfigError } from '../../../src/config';

describe('loadConfig', () => {
  it('applies the contract defaults', () => {
    const c = loadConfig({});
    expect(c.DATABASE_URL).toBe('postgresql://postgres@127.0.0.1:5432/bulksms');
    expect(c.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(c.QUEUE_PREFIX).toBe('bulksms');
    expect(c.TWOFACTOR_BASE_URL).toBe('https://2factor.in');
    expect(c.SMS_RATE_LIMIT).toBe(200);
    expect(c.LOG_LEVEL).toBe('info');
    expect(Object.isFrozen(c)).toBe(true);
  });

  it.each([
    ['SMS_RATE_LIMIT', 'fast', /SMS_RATE_LIMIT/],
    ['SMS_RATE_LIMIT', '-5', /SMS_RATE_LIMIT/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL/],
    ['REDIS_URL', 'not a url', /REDIS_URL/],
    ['QUEUE_PREFIX', 'a:b', /QUEUE_PREFIX/],
    ['REDIS_URL', 'http://127.0.0.1:6379', /REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/],
    ['TWOFACTOR_BASE_URL', 'ftp://x', /TWOFACTOR_BASE_URL: must be a https:\/\/ or http:\/\/ URL/],
    ['DATABASE_URL', 'mysql://db/bulksms', /DATABASE_URL/],
    ['SENDER_PATTERN_TRANSACTIONAL', '^[A-Z', /SENDER_PATTERN_TRANSACTIONAL: not a valid regular expression/],
    ['SENDER_PATTERN_PROMOTIONAL', '([0-9]{6}', /SENDER_PATTERN_PROMOTIONAL: not a valid regular expression/],
    ['REPORTS_DIR', '/proc/bulksms-reports', /REPORTS_DIR: is under \/proc or \/sys/],
    ['REPORTS_DIR', '/sys', /REPORTS_DIR: is under \/proc or \/sys/],
  ])('rejects %s=%s naming the variable', (name, value, pattern) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(pattern);
  });

  // The secret is a path segment of the callback URL: one the router cannot hand over as it is made the webhook dead.
  it.each([
    ['a / (base64)', 'Qm9vc3Rlci1zZWNyZXQ/abc+def='],
    ['a ?', 'webhook-secret-0123?x=1'],
    ['a %', 'webhook-secret-0123%41'],
    ['a space', 'webhook secret 0123456'],
    ['more than 100 characters', 'x'.repeat(101)],
  ])('rejects a WEBHOOK_SECRET with %s, without echoing it', (_label, secret) => {
    let message = '';
    try {
      loadConfig({ WEBHOOK_SECRET: secret });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^invalid configuration: WEBHOOK_SECRET: /);
    expect(message).not.toContain(secret);
  });

  it('accepts a WEBHOOK_SECRET of up to 100 characters that a URL path carries as they are', () => {
    for (const secret of ["Az09-._~!$&'()*+,;=:@", 'h'.repeat(100)]) expect(loadConfig({ WEBHOOK_SECRET: secret }).WEBHOOK_SECRET).toBe(secret);
  });

  // Unescaped, these end the host part early and the URL still parses: the clients connected to a piece of the password
  // ("getaddrinfo ENOTFOUND <piece>" in every log line, exit 1, the variable never named).
  it.each([
    ['DATABASE_URL', 'postgresql://app:Xy7@k9secret#Qz@db.internal:5432/app'],
    ['DATABASE_URL', 'postgresql://app:Xy7@k9secret?Qz@db.internal/app'],
    ['DATABASE_URL', 'postgresql://app:12/k9secret@db.internal/app'],
    ['REDIS_URL', 'redis://:Xy7@k9secret#Qz@cache:6379'],
    ['REDIS_URL', 'redis://default:Xy7@k9secret?Qz@cache:6379'],
  ])('rejects %s whose password holds an unescaped "#", "?" or "/" (%s), saying to percent-encode it, without echoing it', (name, value) => {
    let message = '';
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(new RegExp(`^invalid configuration: ${name}: .*percent-encoded: / as %2F, \\? as %3F, # as %23`));
    expect(message).not.toContain('k9secret');
    expect(message).not.toContain('Xy7');
  });

  it('accepts percent-encoded passwords and query parameters', () => {
    const url = 'postgresql://app:Xy7%40k9%23Qz%2F@db.internal:5432/app?sslmode=require';
    expect(loadConfig({ DATABASE_URL: url, REDIS_URL: 'rediss://default:a%3Fb@cache:6380/0' }).DATABASE_URL).toBe(url);
  });

  it('accepts the other schemes of each service', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://u@db/x', REDIS_URL: 'rediss://cache:6380', TWOFACTOR_BASE_URL: 'http://127.0.0.1:4010' });
    expect([c.DATABASE_URL, c.REDIS_URL, c.TWOFACTOR_BASE_URL]).toEqual(['postgres://u@db/x', 'rediss://cache:6380', 'http://127.0.0.1:4010']);
  });

  // Number() read a blank value as 0 (RETENTION_DAYS=" ": archive every ended run) and "1e3" or "0x10" as numbers.
  it.each([
    ['SMS_RATE_LIMIT', 'abc', 'must be a whole number of 1 or more (digits only)'],
    ['SMS_RATE_LIMIT', '0', 'must be a whole number of 1 or more (digits only)'],
    ['SMS_RATE_LIMIT', '-5', 'must be a whole number of 1 or more (digits only)'],
    ['SMS_RATE_LIMIT', '1.5', 'must be a whole number of 1 or more (digits only)'],
    ['SMS_RATE_LIMIT', '1e3', 'must be a whole number of 1 or more (digits only)'],
    ['SMS_REQUEST_TIMEOUT_MS', '0x10', 'must be a whole number from 1 to 600000 (digits only)'],
    ['RETENTION_DAYS', ' ', 'must be a whole number from 0 to 36500 (digits only)'],
    ['SMS_RATE_GUARD_MS', '  ', 'must be a whole number from 0 to 1000 (digits only)'],
    // Node timers fire at once past 2^31 − 1 ms: the request timeout and the pacer's guard are bounded well below.
    ['SMS_REQUEST_TIMEOUT_MS', '2147483648', 'must be a whole number from 1 to 600000 (digits only)'],
    ['SMS_REQUEST_TIMEOUT_MS', '600001', 'must be a whole number from 1 to 600000 (digits only)'],
    ['SMS_RATE_GUARD_MS', '1001', 'must be a whole number from 0 to 1000 (digits only)'],
    ['METRICS_PORT', '70000', 'must be a whole number from 0 to 65535 (digits only)'],
    ['DLR_POLL_CONCURRENCY', '0', 'must be a whole number from 1 to 1000 (digits only)'],
    // Days, hours and seconds become dates and PostgreSQL intervals: near 2^53 those overflow ("interval out of range").
    ['RETENTION_DAYS', '9007199254740991', 'must be a whole number from 0 to 36500 (digits only)'],
    ['RETENTION_REGULATED_DAYS', '36501', 'must be a whole number from 0 to 36500 (digits only)'],
    ['DLR_MAX_AGE_HOURS', '8761', 'must be a whole number from 1 to 8760 (digits only)'],
    ['OTP_GRANT_TTL_SECONDS', '86401', 'must be a whole number from 1 to 86400 (digits only)'],
  ])('rejects %s=%j saying what it must be', (name, value, why) => {
    expect(() => loadConfig({ [name]: value })).toThrow(`invalid configuration: ${name}: ${why}`);
  });

  // It failed only at listen time, with a bare "getaddrinfo ENOTFOUND" naming nothing.
  it.each(['bad host', 'http://127.0.0.1', '127.0.0.1:9464', '[::1]', '999.1.1.1', 'a..b', '-lead.example'])('rejects METRICS_HOST=%j', (value) => {
    expect(() => loadConfig({ METRICS_HOST: value })).toThrow(
      'invalid configuration: METRICS_HOST: must be a host name or an IP address (an IPv6 address without brackets)',
    );
  });

  it.each(['127.0.0.1', '0.0.0.0', '::', '::1', 'fd00::5', 'localhost', 'metrics.internal', 'host-1.example.com.'])('accepts METRICS_HOST=%j', (value) => {
    expect(loadConfig({ METRICS_HOST: value }).METRICS_HOST).toBe(value);
  });

  it('asks S3 for AES256 server-side encryption of archives by default, and accepts aws:kms with a key or none', () => {
    expect(loadConfig({}).ARCHIVE_S3_SSE).toBe('AES256');
    const kms = loadConfig({ ARCHIVE_S3_SSE: 'aws:kms', ARCHIVE_S3_SSE_KMS_KEY_ID: 'alias/bulksms-archive' });
    expect([kms.ARCHIVE_S3_SSE, kms.ARCHIVE_S3_SSE_KMS_KEY_ID]).toEqual(['aws:kms', 'alias/bulksms-archive']);
    expect(loadConfig({ ARCHIVE_S3_SSE: 'none' }).ARCHIVE_S3_SSE).toBe('none');
  });

  it.each(['aes256', 'kms', 'off', 'aws:kms:dsse'])('rejects ARCHIVE_S3_SSE=%j naming the values it takes', (value) => {
    expect(() => loadConfig({ ARCHIVE_S3_SSE: value })).toThrow(
      'invalid configuration: ARCHIVE_S3_SSE: must be AES256 (SSE-S3), aws:kms (SSE-KMS, key in ARCHIVE_S3_SSE_KMS_KEY_ID) or none',
    );
  });

  // A key given with AES256 would be silently unused: the operator believes the archives are under their KMS key.
  it.each([[{}], [{ ARCHIVE_S3_SSE: 'AES256' }], [{ ARCHIVE_S3_SSE: 'none' }]])('rejects ARCHIVE_S3_SSE_KMS_KEY_ID without ARCHIVE_S3_SSE=aws:kms (%j)', (env) => {
    expect(() => loadConfig({ ...env, ARCHIVE_S3_SSE_KMS_KEY_ID: 'alias/bulksms-archive' })).toThrow(
      'invalid configuration: ARCHIVE_S3_SSE_KMS_KEY_ID: is used only with ARCHIVE_S3_SSE=aws:kms',
    );
  });

  it('accepts the bounds of the timer settings', () => {
    const c = loadConfig({ SMS_REQUEST_TIMEOUT_MS: '600000', SMS_RATE_GUARD_MS: '1000' });
    expect([c.SMS_REQUEST_TIMEOUT_MS, c.SMS_RATE_GUARD_MS]).toEqual([600_000, 1000]);
  });

  it('reads whole numbers with surrounding spaces, and 0 where 0 is allowed', () => {
    const c = loadConfig({ SMS_RATE_LIMIT: ' 300 ', RETENTION_DAYS: '0', METRICS_PORT: '0' });
    expect([c.SMS_RATE_LIMIT, c.RETENTION_DAYS, c.METRICS_PORT]).toEqual([300, 0, 0]);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ SMS_RATE_LIMIT: '' }).SMS_RATE_LIMIT).toBe(200);
    expect(loadConfig({ SMS_RATE_LIMIT: '2000' }).SMS_RATE_LIMIT).toBe(2000);
  });
});
