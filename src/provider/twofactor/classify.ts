/**
 * Maps every answer to a send (or the lack of one) to exactly one outcome of ../outcome.ts.
 * Pure functions: the transport (./http.ts) only reports what happened.
 */
import type { FailureOutcome, SendOutcome } from '../outcome';
import { classifyDetails } from './details';
import { describeBody, parseEnvelope, retryAfterMs } from './envelope';
import type { HttpResponse, TransportFailure } from './http';

/** No answer: "not written" is certainly not sent; anything after the write may have reached 2Factor. */
export function classifyTransportFailure(f: TransportFailure): FailureOutcome {
  if (!f.written) return { kind: 'retryable', detail: `not sent: ${f.detail}` };
  const what = f.reason === 'timeout' ? 'timed out' : f.reason === 'aborted' ? 'aborted' : 'connection failed';
  return { kind: 'ambiguous', detail: `${what} after the request was sent: ${f.detail}` };
}

export function classifySendResponse(res: HttpResponse, now = Date.now()): SendOutcome {
  const envelope = parseEnvelope(res.body);
  const httpStatus = res.status;
  // Status Success is judged whatever the HTTP code (reference §8), before the 429 below: a throttle code on an
  // accepted send would have had it sent again.
  if (envelope?.status === 'Success') {
    const sessionId = envelope.details.trim();
    return sessionId ? { kind: 'accepted', sessionId } : { kind: 'ambiguous', detail: 'Status Success without a session id', httpStatus };
  }
  if (httpStatus === 429) {
    const detail = envelope?.details || 'HTTP 429 Too Many Requests';
    const wait = retryAfterMs(res.headers['retry-after'], now);
    return { kind: 'retryable', throttled: true, detail, httpStatus, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
  }
  if (envelope) {
    if (envelope.status === 'Error') {
      const c = classifyDetails(envelope.details);
      const detail = envelope.details || 'Status Error without Details';
      // An error text we do not know, on a 5xx: a server that failed may have failed after queueing the SMS (or a
      // gateway wrapped its own failure in the envelope), so like any 5xx it may have gone out. Pausing instead
      // would re-send it on resume. A known 2Factor text is a definite answer whatever the code.
      if (!c.known && httpStatus >= 500) return { kind: 'ambiguous', detail, httpStatus };
      if (!c.throttled) return { kind: c.kind, detail, httpStatus };
      // A throttle text on another code than 429 (2Factor errs on HTTP 200): its Retry-After counts all the same.
      const wait = retryAfterMs(res.headers['retry-after'], now);
      return { kind: c.kind, detail, httpStatus, throttled: true, ...(wait !== undefined ? { retryAfterMs: wait } : {}) };
    }
    return { kind: 'ambiguous', detail: `unexpected Status "${envelope.status.slice(0, 40)}"`, httpStatus };
  }
  const detail = describeBody(httpStatus, res.headers['content-type'], res.body);
  // 5xx (e.g. a 502 from a proxy that may have forwarded it) and 1xx/2xx garbage: it may have gone out.
  if (httpStatus >= 500 || httpStatus < 300) return { kind: 'ambiguous', detail, httpStatus };
  // 408: the server did not receive the whole request, so it cannot have been processed.
  if (httpStatus === 408) return { kind: 'retryable', detail, httpStatus };
  // Other 3xx/4xx without an envelope (HTML 404, redirect, 401/403 from a gateway): the request was refused
  // before 2Factor processed it, and every send will meet the same fate (usually a wrong TWOFACTOR_BASE_URL). A
  // 401/403 is a refusal of who is asking, not of where: 2Factor accounts can restrict access to listed IPs.
  const hint = httpStatus === 401 || httpStatus === 403 ? "check TWOFACTOR_API_KEY and the account's IP allow-list" : 'check TWOFACTOR_BASE_URL';
  return { kind: 'account_fatal', detail: `${detail}: ${hint}`, httpStatus };
}
