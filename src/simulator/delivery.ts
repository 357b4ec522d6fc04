/**
 * Accepted sessions and their delivery reports. Each recipient's final state is drawn at acceptance so the
 * pull report (RPT/TSMS XML) and the push callback always agree. Status/error numbering follows the
 * Dial2Verify callback example (statusId 5 = delivered, group 3); the failure codes are invented but shaped
 * the same way (reference §5 documents no failure example).
 */
export type FinalStatus = 'DELIVERED' | 'FAILED' | 'DLT-CNT-REJECT';

export interface Session {
  id: string;
  text: string;
  /** Recipients as 2Factor writes them (`91XXXXXXXXXX`). */
  recipients: { to: string; final: FinalStatus }[];
  /** Epoch ms when the reports become final. */
  finalAt: number;
}

interface StatusCodes {
  statusId: string;
  statusGroupId: string;
  statusGroupName: string;
  statusDescription: string;
  errorGroupId: string;
  errorGroupName: string;
  errorId: string;
  errorName: string;
  errorDescription: string;
  errorPermanent: string;
}

export const STATUS_CODES: Record<FinalStatus, StatusCodes> = {
  DELIVERED: {
    statusId: '5', statusGroupId: '3', statusGroupName: 'DELIVERED', statusDescription: 'Message delivered to handset',
    errorGroupId: '0', errorGroupName: 'OK', errorId: '0', errorName: 'NO_ERROR', errorDescription: 'No Error', errorPermanent: 'false',
  },
  FAILED: {
    statusId: '9', statusGroupId: '2', statusGroupName: 'UNDELIVERABLE', statusDescription: 'Message not delivered',
    errorGroupId: '1', errorGroupName: 'HANDSET_ERRORS', errorId: '27', errorName: 'EC_ABSENT_SUBSCRIBER',
    errorDescription: 'Absent subscriber', errorPermanent: 'false',
  },
  'DLT-CNT-REJECT': {
    statusId: '6', statusGroupId: '5', statusGroupName: 'REJECTED', statusDescription: 'Rejected by DLT scrubbing',
    errorGroupId: '3', errorGroupName: 'OPERATOR_ERRORS', errorId: '4096', errorName: 'DLT-CNT-REJECT',
    errorDescription: 'Content template mismatch', errorPermanent: 'true',
  },
};

/** `random` in [0, 1): the first dltRejectRate share is rejected, the next dlrFailRate share fails. */
export function drawFinal(random: number, dlrFailRate: number, dltRejectRate: number): FinalStatus {
  if (random < dltRejectRate) return 'DLT-CNT-REJECT';
  if (random < dltRejectRate + dlrFailRate) return 'FAILED';
  return 'DELIVERED';
}

const escapeXml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);

/** The RPT/TSMS body. Before `finalAt` every row is pending with an empty status (as observed live). */
export function renderReport(session: Session | undefined, now: number): string {
  if (!session) return '<?xml version="1.0" encoding="UTF-8"?><smsLog><logStatus>Invalid</logStatus></smsLog>';
  const final = now >= session.finalAt;
  const msg = escapeXml(session.text);
  const rows = session.recipients.map(({ to, final: status }) => {
    const c = final ? STATUS_CODES[status] : undefined;
    return (
      `<sms><smsMeta><smsTo>${to}</smsTo><msg>${msg}</msg></smsMeta>` +
      `<smsStatus><statusDesc>${final ? status : ''}</statusDesc><statusId>${c?.statusId ?? ''}</statusId></smsStatus>` +
      `<smsError><errorId>${c?.errorId ?? '0'}</errorId><errorGroupId>${c?.errorGroupId ?? '0'}</errorGroupId></smsError></sms>`
    );
  });
  return `<?xml version="1.0" encoding="UTF-8"?><smsLog><logStatus>Valid</logStatus>${rows.join('')}</smsLog>`;
}

/** The push-callback form (reference §5, Dial2Verify field names). */
export function callbackFields(sessionId: string, to: string, status: FinalStatus): Record<string, string> {
  const c = STATUS_CODES[status];
  return {
    SessionId: sessionId,
    SmsTo: to,
    SmsStatus: status,
    StatusGroupId: c.statusGroupId,
    StatusGroupName: c.statusGroupName,
    StatusId: c.statusId,
    StatusDescription: c.statusDescription,
    ErrorGroupId: c.errorGroupId,
    ErrorGroupName: c.errorGroupName,
    ErrorId: c.errorId,
    ErrorName: c.errorName,
    ErrorDescription: c.errorDescription,
    ErrorPermanent: c.errorPermanent,
  };
}
