import { classifyDetails } from '../../../src/provider/twofactor/details';
import { classifySendResponse, classifyTransportFailure } from '../../../src/provider/twofactor/classify';
import type { HttpResponse } from '../../../src/provider/twofactor/http';

describe('classifyDetails: the real 2Factor error texts (reference §4)', () => {
  it.each([
    ['Invalid API Key - No Account Exists', 'account_fatal'],
    ['Access Denied - Balance is too low', 'account_fatal'],
    ['Access Denied - Account Disabled', 'account_fatal'],
    ['Access Denied - Account Expired', 'account_fatal'],
    ["Access Denied - Sender Id 'ACMEIN' not approved", 'permanent_campaign'],
    ['Missing templatename value', 'permanent_campaign'],
    ['Missing TemplateName value', 'permanent_campaign'],
    ['Incorrect sender id and templatename provided', 'permanent_campaign'],
    ['Invalid Template', 'permanent_campaign'],
    ['DLT-CNT-REJECT', 'permanent_campaign'],
    ['Invalid Phone Number - Length Mismatch(Expected: 10)', 'permanent_recipient'],
    ['Invalid Phone Number - Length Mismatch(Expected >= 10)', 'permanent_recipient'],
    ['  invalid api key -   no account exists ', 'account_fatal'],
  ])('%s → %s', (text, kind) => {
    const c = classifyDetails(text);
    expect(c.kind).toBe(kind);
    expect(c.known).toBe(true);
    expect(c.throttled).toBeUndefined();
  });

  it.each([
    // Known texts with a prefix, a suffix, a full stop, another case: still the known text.
    ['Error: Invalid API Key - No Account Exists', 'account_fatal'],
    ['Access Denied - Balance is too low.', 'account_fatal'],
    ['Access Denied - Balance is too low. Please recharge your account', 'account_fatal'],
    ['ACCESS DENIED - ACCOUNT EXPIRED!', 'account_fatal'],
    ["Error - Access Denied - Sender Id 'ACMEIN' not approved", 'permanent_campaign'],
    ['Missing templatename value.', 'permanent_campaign'],
    ['DLT-CNT-REJECT: template mismatch', 'permanent_campaign'],
    ['Error: Invalid Phone Number - Length Mismatch(Expected: 10)', 'permanent_recipient'],
    // DND and block lists are about one number (2Factor documents no text for either).
    ['Number is in DND', 'permanent_recipient'],
    ['DND number - promotional SMS not allowed', 'permanent_recipient'],
    ['Recipient registered under NDNC', 'permanent_recipient'],
    ['Mobile number blocked', 'permanent_recipient'],
    ['Number 919876543210 is blacklisted', 'permanent_recipient'],
    // ... unless an account-level thing is named, with the recipient one or not: then the whole campaign stops.
    ['Invalid API Key - No Account Exists (number blocked)', 'account_fatal'],
  ])('%s → %s (extra words, DND, block list)', (text, kind) => {
    const c = classifyDetails(text);
    expect(c.kind).toBe(kind);
    expect(c.known).toBe(true);
  });

  it.each([
    'Sender Id blocked for this number',
    'Account blocked: too many invalid numbers',
    'Template not allowed for DND numbers',
    'Invalid Templates', // not the phrase "Invalid Template": a whole-word match only
  ])('%s → unknown (pauses the campaign): a recipient rule never fires on a campaign-level text', (text) => {
    expect(classifyDetails(text)).toEqual({ kind: 'permanent_campaign', known: false });
  });

  it.each(['Too Many Requests', 'Rate limit exceeded', 'Request throttled'])('%s → retryable, throttled', (text) => {
    expect(classifyDetails(text)).toEqual({ kind: 'retryable', throttled: true, known: true });
  });

  it('an unknown error text pauses the campaign (a definite refusal of unknown scope), flagged unknown', () => {
    expect(classifyDetails('Something new went wrong')).toEqual({ kind: 'permanent_campaign', known: false });
    // Invented fixtures from one client's tests must NOT be treated as known texts.
    expect(classifyDetails('Balance too low').known).toBe(false);
  });
});

const res = (status: number, body: string, headers: HttpResponse['headers'] = {}): HttpResponse => ({ status, body, headers });
const env = (Status: string, Details: unknown): string => JSON.stringify({ Status, Details });

describe('classifySendResponse judges the body, not the HTTP code', () => {
  it.each<[string, HttpResponse, Record<string, unknown>]>([
    ['Success → accepted', res(200, env('Success', 'abc123')), { kind: 'accepted', sessionId: 'abc123' }],
    ['Error on HTTP 200', res(200, env('Error', 'Access Denied - Balance is too low')), { kind: 'account_fatal', httpStatus: 200 }],
    ['Error on HTTP 400', res(400, env('Error', 'Invalid Phone Number - Length Mismatch(Expected: 10)')), { kind: 'permanent_recipient' }],
    ['Success without id', res(200, env('Success', '')), { kind: 'ambiguous' }],
    ['unexpected Status', res(200, env('Queued', 'x')), { kind: 'ambiguous' }],
    // Status in an unexpected case or padded: still a definite answer, not an unknown fate.
    ['Status "success" → accepted', res(200, env('success', 'abc125')), { kind: 'accepted', sessionId: 'abc125' }],
    ['Status " SUCCESS " → accepted', res(200, env(' SUCCESS ', 'abc126')), { kind: 'accepted', sessionId: 'abc126' }],
    ['Status "error" → its text decides', res(200, env('error', 'Invalid Phone Number - Length Mismatch(Expected: 10)')), { kind: 'permanent_recipient' }],
    ['lower-case keys → accepted', res(200, JSON.stringify({ status: 'Success', details: 'abc127' })), { kind: 'accepted', sessionId: 'abc127' }],
    ['upper-case keys → its text decides', res(200, JSON.stringify({ STATUS: 'Error', DETAILS: 'Invalid Phone Number' })), { kind: 'permanent_recipient' }],
    ['a body without any Status key stays ambiguous', res(200, JSON.stringify({ success: true })), { kind: 'ambiguous' }],
    ['Status "ERROR " → its text decides', res(200, env('ERROR ', 'Access Denied - Balance is too low')), { kind: 'account_fatal' }],
    ['HTML on 200', res(200, '<html><body>oops</body></html>', { 'content-type': 'text/html' }), { kind: 'ambiguous', httpStatus: 200 }],
    ['empty 200', res(200, ''), { kind: 'ambiguous' }],
    ['truncated JSON', res(200, '{"Status":"Succ'), { kind: 'ambiguous' }],
    ['502 HTML', res(502, '<html>Bad Gateway</html>'), { kind: 'ambiguous', httpStatus: 502 }],
    ['503 empty', res(503, ''), { kind: 'ambiguous' }],
    // A 5xx with an Error text nobody knows: the failure may have come after the SMS was queued.
    ['500 with an unknown Error text', res(500, env('Error', 'Internal Server Error')), { kind: 'ambiguous', httpStatus: 500, detail: 'Internal Server Error' }],
    ['503 with an Error and no Details', res(503, env('Error', '')), { kind: 'ambiguous', httpStatus: 503 }],
    // Known texts are definite whatever the code.
    ['503 with a known account text', res(503, env('Error', 'Invalid API Key - No Account Exists')), { kind: 'account_fatal', httpStatus: 503 }],
    ['500 with a known recipient text', res(500, env('Error', 'Invalid Phone Number - Length Mismatch(Expected: 10)')), { kind: 'permanent_recipient' }],
    ['503 with a throttle text', res(503, env('Error', 'Too Many Requests')), { kind: 'retryable', throttled: true }],
    ['400 with an unknown Error text still pauses', res(400, env('Error', 'Something new')), { kind: 'permanent_campaign', httpStatus: 400 }],
    ['429 with body', res(429, env('Error', 'Too Many Requests'), { 'retry-after': '2' }), { kind: 'retryable', throttled: true, retryAfterMs: 2000 }],
    ['429 bare', res(429, ''), { kind: 'retryable', throttled: true }],
    ['throttle text on 200 with Retry-After', res(200, env('Error', 'Too Many Requests'), { 'retry-after': '3' }), { kind: 'retryable', throttled: true, retryAfterMs: 3000 }],
    // Acceptance is the body's: re-sending this as throttled would be a second SMS.
    ['429 saying Success with a session id', res(429, env('Success', 'abc123'), { 'retry-after': '1' }), { kind: 'accepted', sessionId: 'abc123' }],
    ['429 saying Success without a session id', res(429, env('Success', '')), { kind: 'ambiguous', httpStatus: 429 }],
    ['502 saying Success with a session id', res(502, env('Success', 'abc124')), { kind: 'accepted', sessionId: 'abc124' }],
    ['404 HTML (wrong base URL)', res(404, '<html>Not Found</html>'), { kind: 'account_fatal', httpStatus: 404 }],
    ['301 redirect', res(301, ''), { kind: 'account_fatal', detail: 'HTTP 301 with an empty body: check TWOFACTOR_BASE_URL' }],
    // Not a wrong URL: the key or the machine's IP (2Factor accounts can allow-list IPs) was refused.
    ['403 HTML from a gateway', res(403, '<html>Forbidden</html>', { 'content-type': 'text/html' }), { kind: 'account_fatal', httpStatus: 403, detail: "HTTP 403 with an HTML/XML body (text/html): check TWOFACTOR_API_KEY and the account's IP allow-list" }],
    ['401 empty', res(401, ''), { kind: 'account_fatal', detail: expect.stringContaining('IP allow-list') }],
    ['408', res(408, ''), { kind: 'retryable' }],
  ])('%s', (_name, response, expected) => {
    expect(classifySendResponse(response)).toMatchObject(expected);
  });

  it('Retry-After as an HTTP date becomes a wait in ms', () => {
    const now = Date.parse('2026-11-26T10:00:00Z');
    const out = classifySendResponse(res(429, '', { 'retry-after': 'Thu, 26 Nov 2026 10:00:03 GMT' }), now);
    expect(out).toMatchObject({ kind: 'retryable', retryAfterMs: 3000 });
  });
});

describe('classifyTransportFailure: was the request written?', () => {
  it.each<[boolean, 'timeout' | 'aborted' | 'network', string]>([
    [false, 'network', 'retryable'],
    [false, 'timeout', 'retryable'],
    [false, 'aborted', 'retryable'],
    [true, 'network', 'ambiguous'],
    [true, 'timeout', 'ambiguous'],
    [true, 'aborted', 'ambiguous'],
  ])('written=%s %s → %s', (written, reason, kind) => {
    const out = classifyTransportFailure({ written, reason, detail: 'ECONNRESET: socket hang up' });
    expect(out.kind).toBe(kind);
    expect(out.detail).toContain('ECONNRESET');
  });
});
