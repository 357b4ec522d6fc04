/**
 * A minimal SmsProvider over real HTTP (undici) for the stand-in provider: R1-style form POST, JSON answer.
 * Maps answers to the outcome taxonomy the way the real 2Factor client does (src/provider/outcome.ts).
 */
import { Pool, errors } from 'undici';
import type { SendOutcome } from '../../src/provider/outcome';
import type { SendRequest, SmsProvider } from '../../src/provider/sms-provider';

export function createHttpTestProvider(opts: { baseUrl: string; apiKey: string; timeoutMs: number; connections: number }): SmsProvider {
  const pool = new Pool(opts.baseUrl, { connections: opts.connections, pipelining: 1, keepAliveTimeout: 30_000 });
  return {
    async send(req: SendRequest): Promise<SendOutcome> {
      const form = new URLSearchParams({ module: req.module, apikey: opts.apiKey, to: req.to.join(','), from: req.from });
      if (req.content.kind === 'text') form.set('msg', req.content.text);
      else {
        form.set('templatename', req.content.name);
        req.content.vars.forEach((v, i) => form.set(`var${i + 1}`, v));
      }
      try {
        const res = await pool.request({
          path: '/API/R1/',
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
          headersTimeout: opts.timeoutMs,
          bodyTimeout: opts.timeoutMs,
        });
        const text = await res.body.text();
        let body: { Status?: string; Details?: string } = {};
        try {
          body = JSON.parse(text) as typeof body;
        } catch {
          return { kind: 'ambiguous', detail: `unparseable answer (HTTP ${res.statusCode})`, httpStatus: res.statusCode };
        }
        const detail = body.Details ?? '';
        if (res.statusCode === 429) return { kind: 'retryable', detail, httpStatus: 429, throttled: true };
        if (res.statusCode === 503) return { kind: 'retryable', detail, httpStatus: 503 };
        if (res.statusCode >= 500) return { kind: 'ambiguous', detail: detail || `HTTP ${res.statusCode}`, httpStatus: res.statusCode };
        if (body.Status === 'Success') return { kind: 'accepted', sessionId: detail };
        if (/api key/i.test(detail)) return { kind: 'account_fatal', detail, httpStatus: res.statusCode };
        if (/templatename|sender/i.test(detail)) return { kind: 'permanent_campaign', detail, httpStatus: res.statusCode };
        if (/phone|number/i.test(detail)) return { kind: 'permanent_recipient', detail, httpStatus: res.statusCode };
        return { kind: 'ambiguous', detail, httpStatus: res.statusCode };
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'ECONNREFUSED') return { kind: 'retryable', detail: 'connection refused' };
        if (err instanceof errors.HeadersTimeoutError || err instanceof errors.BodyTimeoutError) {
          return { kind: 'ambiguous', detail: 'request timed out' };
        }
        return { kind: 'ambiguous', detail: `transport error: ${code ?? String(err)}` };
      }
    },
    balance: () => Promise.resolve(Number.POSITIVE_INFINITY),
    deliveryReport: () => Promise.resolve({ found: false, detail: 'not supported by the stand-in' }),
    close: () => pool.close(),
  };
}
