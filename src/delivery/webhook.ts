/**
 * Push delivery reports: the provider platform POSTs one form per recipient (reference §5, the Dial2Verify
 * format: SessionId, SmsTo, SmsStatus, StatusId, ErrorId, ErrorName, ErrorPermanent, ...). Pure apart from the
 * database: the HTTP route (`POST /webhooks/dlr/:secret`, API team) authenticates and passes the fields here.
 * Idempotent: the same report twice changes nothing the second time.
 */
import type { Container } from '../container';
import { ValidationError } from '../errors';
import { applyResults, loadOpenMessages } from './apply-reports';
import { mapDeliveryStatus, type DeliveryState } from './status-map';

export type DeliveryCallbackForm = Readonly<Record<string, string | string[] | undefined>>;

export interface DeliveryCallbackResult {
  sessionId: string;
  state: DeliveryState;
  /** Messages that changed status (0 for a repeat, a pending report, or an unknown session). */
  updated: number;
  /** The session or phone matched no open message (unknown session, or already final: a repeat). */
  unmatched: boolean;
  dltReject: boolean;
}

/** Field names are matched case-insensitively; a repeated field takes its first value. */
function field(form: DeliveryCallbackForm, name: string): string | undefined {
  const key = Object.keys(form).find((k) => k.toLowerCase() === name.toLowerCase());
  const v = key === undefined ? undefined : form[key];
  return Array.isArray(v) ? v[0] : v;
}

export async function applyDeliveryCallback(
  deps: Pick<Container, 'pg' | 'logger'>,
  form: DeliveryCallbackForm,
  now: Date = new Date(),
): Promise<DeliveryCallbackResult> {
  const sessionId = field(form, 'SessionId')?.trim();
  const phone = field(form, 'SmsTo')?.trim();
  const status = field(form, 'SmsStatus')?.trim();
  const missing = [['SessionId', sessionId], ['SmsTo', phone], ['SmsStatus', status]].filter(([, v]) => !v).map(([k]) => k);
  if (missing.length) throw new ValidationError(`delivery callback: missing field(s) ${missing.join(', ')}`);

  const mapped = mapDeliveryStatus({
    status: status!,
    statusId: field(form, 'StatusId'),
    errorId: field(form, 'ErrorId'),
    errorName: field(form, 'ErrorName'),
    errorDescription: field(form, 'ErrorDescription'),
    errorPermanent: field(form, 'ErrorPermanent'),
  });
  const messages = await loadOpenMessages(deps, sessionId!);
  if (mapped.state === 'pending' || messages.length === 0) {
    if (messages.length === 0) deps.logger.debug({ sessionId }, 'delivery callback for no open message (repeat or unknown session)');
    return { sessionId: sessionId!, state: mapped.state, updated: 0, unmatched: messages.length === 0, dltReject: mapped.dltReject };
  }
  const summary = await applyResults(deps, messages, [{ phone: phone!, ...mapped }], now);
  return {
    sessionId: sessionId!,
    state: mapped.state,
    updated: summary.delivered + summary.failed,
    unmatched: summary.unmatched > 0,
    dltReject: mapped.dltReject,
  };
}
