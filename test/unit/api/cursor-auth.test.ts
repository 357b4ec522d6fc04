import { decodeCursor, encodeCursor } from '../../../src/lib/cursor';
import { isLoopbackAddress, secretEquals } from '../../../src/api/auth';
import { toHttp } from '../../../src/api/error-handler';
import { NotFoundError, ServiceError, ValidationError } from '../../../src/errors';
import type { FastifyError } from 'fastify';

describe('keyset cursor', () => {
  it('round-trips ids, including ones beyond 2^53', () => {
    for (const id of [1n, 42n, 9007199254740993n]) expect(decodeCursor(encodeCursor(id, ['c']), ['c'])).toBe(id);
  });

  it('rejects garbage with a ValidationError naming the cursor field', () => {
    for (const bad of ['', 'xyz', Buffer.from('m:-1').toString('base64url'), Buffer.from('m:1;drop').toString('base64url')]) {
      expect(() => decodeCursor(bad, ['c'])).toThrow(expect.objectContaining({ field: 'cursor', httpStatus: 400 }));
    }
  });
});

describe('auth helpers', () => {
  it('compares secrets exactly, whatever their lengths', () => {
    expect(secretEquals('s3cret-token-value', 's3cret-token-value')).toBe(true);
    expect(secretEquals('s3cret-token-valuE', 's3cret-token-value')).toBe(false);
    expect(secretEquals('short', 's3cret-token-value')).toBe(false);
    expect(secretEquals('', 's3cret-token-value')).toBe(false);
  });

  it('recognises loopback addresses only', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', 'localhost']) expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ['0.0.0.0', '10.0.0.1', '::', '192.168.1.5', undefined, '']) expect(isLoopbackAddress(a)).toBe(false);
  });
});

describe('error mapping', () => {
  const asFastify = (e: Error) => e as FastifyError;

  it('maps AppErrors to their HTTP status with code and field', () => {
    expect(toHttp(asFastify(new ValidationError('bad phone', 'phone')))).toEqual({
      status: 400, body: { error: { code: 'validation', message: 'bad phone', field: 'phone' } },
    });
    expect(toHttp(asFastify(new ValidationError((n) => `${n('packSize')}: 500 is too many`, 'packSize'))).body).toEqual({
      error: { code: 'validation', message: 'packSize: 500 is too many', field: 'packSize' },
    });
    expect(toHttp(asFastify(new NotFoundError('nope'))).status).toBe(404);
    expect(toHttp(asFastify(new ServiceError('redis down'))).status).toBe(503);
  });

  it('names the field of a schema failure and hides internals of unexpected errors', () => {
    const schemaErr = Object.assign(new Error("body must have required property 'from'"), {
      validation: [{ instancePath: '', params: { missingProperty: 'from' } }],
    });
    expect(toHttp(schemaErr as unknown as FastifyError).body.error.field).toBe('from');
    const nested = Object.assign(new Error('querystring/limit must be >= 1'), { validation: [{ instancePath: '/limit', params: {} }] });
    expect(toHttp(nested as unknown as FastifyError).body.error.field).toBe('limit');
    const whole = Object.assign(new Error('body must be object'), { validation: [{ instancePath: '', params: { type: 'object' } }], validationContext: 'body' });
    expect(toHttp(whole as unknown as FastifyError).body.error).toEqual({ code: 'validation', message: 'body must be object', field: 'body' });
    const enumErr = Object.assign(new Error('body/type must be equal to one of the allowed values'), {
      validation: [{ instancePath: '/type', params: { allowedValues: ['transactional', 'promotional'] } }],
    });
    expect(toHttp(enumErr as unknown as FastifyError).body.error).toEqual({
      code: 'validation', message: 'body/type must be equal to one of the allowed values (one of transactional, promotional)', field: 'type',
    });
    const crash = toHttp(asFastify(new Error('connection string postgres://secret@db')));
    expect(crash.status).toBe(500);
    expect(JSON.stringify(crash.body)).not.toContain('secret');
  });
});
