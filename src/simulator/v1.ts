/** V1 endpoints (key in the path): balances, the RPT/TSMS delivery report and SMS-OTP send/verify. */
import type { ServerResponse } from 'node:http';
import { renderReport } from './delivery';
import { normaliseNumber } from './r1';
import { envelope, html, xml } from './responses';
import { INVALID_KEY, type Simulator } from './simulator';

const BALANCE_SERVICES = new Set(['TRANSACTIONAL_SMS', 'PROMOTIONAL_SMS']);
/** What an unlimited balance reads as. */
const UNLIMITED = '1000000000';

/** `segments` = the path after `/API/V1/`, already split and decoded. */
export function handleV1(sim: Simulator, segments: string[], res: ServerResponse): void {
  const [key = '', ...rest] = segments;
  const route = matchRoute(rest);
  if (!route) {
    sim.counters.error('not_found');
    html(res, 404, 'Not Found');
    return;
  }
  const c = sim.counters;
  if (sim.opts.rateScope === 'all') {
    const now = performance.now();
    c.limited(now);
    if (!sim.admit(key, now)) {
      c.throttled++;
      envelope(res, 'Error', 'Too Many Requests', 429, { 'retry-after': '1' });
      return;
    }
  }
  if (!sim.keyValid(key)) {
    c.error('invalid_key');
    sim.later(() => envelope(res, 'Error', INVALID_KEY));
    return;
  }
  sim.later(() => route(sim, res));
}

type Route = (sim: Simulator, res: ServerResponse) => void;

function matchRoute(rest: string[]): Route | null {
  const [a, b, c, d, e] = rest;
  if (a === 'ADDON_SERVICES' && b === 'BAL' && c && BALANCE_SERVICES.has(c) && rest.length === 3) {
    return (sim, res) => envelope(res, 'Success', sim.opts.balance === null ? UNLIMITED : String(sim.opts.balance));
  }
  if (a === 'ADDON_SERVICES' && b === 'RPT' && c === 'TSMS' && d && rest.length === 4) {
    return (sim, res) => xml(res, renderReport(sim.sessions.get(d), Date.now()));
  }
  if (a === 'SMS' && b === 'VERIFY' && c && d && rest.length === 4) return (sim, res) => verifyOtp(sim, res, c, d);
  // SMS/{phone}/AUTOGEN[/{template}] or SMS/{phone}/{4-6 digit otp}[/{template}]
  if (a === 'SMS' && b && c && rest.length <= 4 && (c === 'AUTOGEN' || /^\d{4,6}$/.test(c)) && e === undefined) {
    return (sim, res) => sendOtp(sim, res, b, c === 'AUTOGEN' ? undefined : c);
  }
  return null;
}

function sendOtp(sim: Simulator, res: ServerResponse, phone: string, otp: string | undefined): void {
  if (!normaliseNumber(phone)) {
    sim.counters.error('invalid_number');
    envelope(res, 'Error', 'Invalid Phone Number - Length Mismatch(Expected: 10)');
    return;
  }
  envelope(res, 'Success', sim.otps.issue(Date.now(), sim.opts.otpTtlMs, otp));
}

function verifyOtp(sim: Simulator, res: ServerResponse, sessionId: string, otp: string): void {
  const result = sim.otps.verify(sessionId, otp, Date.now());
  if (result === 'matched') return envelope(res, 'Success', 'OTP Matched');
  sim.counters.error(`otp_${result}`);
  if (result === 'mismatch') return envelope(res, 'Error', 'OTP Mismatch', 400);
  envelope(res, 'Error', result === 'expired' ? 'OTP Expired' : 'Invalid SessionId');
}
