/**
 * Push delivery reports: the provider platform POSTs one form per recipient (reference §5, the Dial2Verify
 * format: SessionId, SmsTo, SmsStatus, StatusId, ErrorId, ErrorName, ErrorPermanent, ...). Pure apart from the
 * database: the HTTP route (`POST /webhooks/dlr/:secret`, API team) authenticates and passes the fields here.
 * Idempotent: the same report twice changes nothing the second time. A report that arrives before its send
 * outcome is committed is kept and applied when the outcome lands (early-reports.ts).
 */
import type { Container } from '../container';
import { ValidationError } from '../errors';
import { applyResults, loadOpenMessages } from './apply-reports';
import { applyParkedReports, parkReport, sessionKnown } from './early-reports';
import { mapDeliveryStatus, type DeliveryState } from '../provider/twofactor/delivery-status';
import { fieldIgnoringCase } from '../lib/field-ignoring-case';

export type DeliveryCallbackForm = Readonly<Record<string, string | string[] | undefined>>;

export interface DeliveryCallbackResult {
  sessionId: string;
  state: DeliveryState;
  /** Messages that changed status (0 for a repeat, a pending report, or an unknown session). */
  updated: number;
  /** The session or phone matched no open message (unknown session, or already final: a repeat). */
  unmatched: boolean;
  dltReject: boolean;
  /**
   * The session id is not recorded yet (the report beat the send outcome's commit): the report was kept and
   * is applied when the outcome lands (src/delivery/early-reports.ts).
   */
  parked: boolean;
}

/** 2Factor session ids are UUIDs (36 characters); numbers are at most 15 digits with an ISD code. */
const MAX_SESSION_ID = 128;
const MAX_PHONE = 32;
/**
 * U+FFFD (what undecodable bytes become), a lone surrogate (Cs: with the u flag only an unpaired one matches), a C0/C1
 * control character (Cc), or a %-escape the form parser could not decode and left as it was (`%E9`: a Latin-1 form).
 */
const NOT_TEXT = /[\uFFFD\p{Cc}\p{Cs}]|%[0-9A-Fa-f]{2}/u;

/**
 * Field names are matched case-insensitively; a field given as a list takes its first value (the HTTP route has
 * already kept the last of a repeated form field).
 */
function field(form: DeliveryCallbackForm, name: string): string | undefined {
  const v = fieldIgnoringCase(form, name);
  return Array.isArray(v) ? v[0] : v;
}

export async function applyDeliveryCallback(
  deps: Pick<Container, 'pg' | 'logger' | 'redis' | 'config'>,
  form: DeliveryCallbackForm,
  now: Date = new Date(),
): Promise<DeliveryCallbackResult> {
  const sessionId = field(form, 'SessionId')?.trim();
  const phone = field(form, 'SmsTo')?.trim();
  const status = field(form, 'SmsStatus')?.trim();
  const missing = [['SessionId', sessionId], ['SmsTo', phone], ['SmsStatus', status]].filter(([, v]) => !v).map(([k]) => k);
  if (missing.length) throw new ValidationError(`delivery callback: missing field(s) ${missing.join(', ')}`);
  // A session id or number longer than any real one is not a report: parked, it failed PostgreSQL's index-row
  // limit (a 500 instead of a 400 the sender can read).
  for (const [name, value, max] of [['SessionId', sessionId!, MAX_SESSION_ID], ['SmsTo', phone!, MAX_PHONE]] as const) {
    if (value.length > max) throw new ValidationError(`delivery callback: ${name} is longer than ${max} characters`, name);
  }
  // Bytes that were not UTF-8 (decoded to U+FFFD, or left as %-escapes), lone surrogates (`\ud800` in JSON) or control
  // characters in the fields that identify a report: no session id, number or status word holds them, so such a body
  // is not a readable report. Accepted, it was parked under a mangled session id for hours and answered 200.
  for (const [name, value] of [['SessionId', sessionId!], ['SmsTo', phone!], ['SmsStatus', status!]] as const) {
    if (NOT_TEXT.test(value)) throw new ValidationError(`delivery callback: ${name} is not valid UTF-8 text`, name);
  }

  const mapped = mapDeliveryStatus({
    status: status!,
    statusId: field(form, 'StatusId'),
    errorId: field(form, 'ErrorId'),
    errorName: field(form, 'ErrorName'),
    errorDescription: field(form, 'ErrorDescription'),
    errorPermanent: field(form, 'ErrorPermanent'),
  });
  const base = { sessionId: sessionId!, state: mapped.state, dltReject: mapped.dltReject, parked: false };
  if (mapped.state === 'pending') return { ...base, updated: 0, unmatched: false };
  // Reports parked for this session before its outcome was recorded arrived before this one: applied first, as the
  // outcome writer's hook would have (it may not have run yet), so the first final report wins here as everywhere.
  // This one applied first, a DELIVERED posted in the moment between the outcome's commit and the hook replaced the
  // parked FAILED that had come before it.
  await applyParkedReports(deps, [sessionId!], now);
  let messages = await loadOpenMessages(deps, sessionId!);
  if (messages.length === 0) {
    if (!(await sessionKnown(deps, sessionId!))) {
      // Early: park it, then look again (the outcome may have committed meanwhile; see early-reports.ts).
      await parkReport(deps, { sessionId: sessionId!, phone: phone!, state: mapped.state, reason: mapped.reason, dltReject: mapped.dltReject }, now);
      const applied = await applyParkedReports(deps, [sessionId!], now);
      const updated = applied.delivered + applied.failed;
      if (!updated) deps.logger.debug({ sessionId }, 'delivery callback before its send outcome: kept until the session id is recorded');
      return { ...base, updated, unmatched: updated === 0, parked: updated === 0 };
    }
    // Known session: a repeat, unless its outcome committed between the two reads above.
    messages = await loadOpenMessages(deps, sessionId!);
    if (messages.length === 0) {
      deps.logger.debug({ sessionId }, 'delivery callback for no open message (a repeat)');
      return { ...base, updated: 0, unmatched: true };
    }
  }
  const summary = await applyResults(deps, messages, [{ phone: phone!, ...mapped }], now);
  return { ...base, updated: summary.delivered + summary.failed, unmatched: summary.unmatched > 0 };
}
