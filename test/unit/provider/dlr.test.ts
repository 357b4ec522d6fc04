import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDeliveryReport, toE164 } from '../../../src/provider/twofactor/dlr';
import { mapDeliveryStatus } from '../../../src/provider/twofactor/delivery-status';

/** The state the polled report gives one row with this statusDesc (and error id). */
function deliveryState(statusDesc: string, errorId?: string): string {
  const error = errorId === undefined ? '' : `<smsError><errorId>${errorId}</errorId></smsError>`;
  const report = parseDeliveryReport(
    `<smsLog><logStatus>Valid</logStatus><sms><smsMeta><smsTo>919876543210</smsTo></smsMeta><smsStatus><statusDesc>${statusDesc}</statusDesc></smsStatus>${error}</sms></smsLog>`,
  );
  if (!report.found) throw new Error(report.detail);
  return report.entries[0]!.state;
}

const fixture = (name: string): string => readFileSync(join(__dirname, '../../fixtures/2factor', name), 'utf8');

describe('RPT/TSMS delivery-report XML', () => {
  it('maps every <sms> row of a multi-recipient report, numbers to E.164', () => {
    const report = parseDeliveryReport(fixture('report-multi.xml'));
    expect(report).toEqual({
      found: true,
      entries: [
        { phone: '+919876543210', state: 'delivered', statusDesc: 'DELIVERED', reason: null, statusId: '5', errorId: '0', dltReject: false },
        { phone: '+918765432109', state: 'failed', statusDesc: 'DLT-CNT-REJECT', reason: 'DLT-CNT-REJECT #4096', statusId: '6', errorId: '4096', dltReject: true },
        { phone: '+919123456789', state: 'pending', statusDesc: '', reason: null, errorId: '0', dltReject: false },
        { phone: '+917000000001', state: 'failed', statusDesc: 'UNDELIVERED', reason: 'UNDELIVERED #27', statusId: '9', errorId: '27', dltReject: false },
      ],
    });
  });

  it('a single <sms> row is still a list', () => {
    const xml = '<smsLog><logStatus>Valid</logStatus><sms><smsMeta><smsTo>919876543210</smsTo></smsMeta><smsStatus><statusDesc>DELIVERED</statusDesc></smsStatus></sms></smsLog>';
    const report = parseDeliveryReport(xml);
    expect(report.found && report.entries).toHaveLength(1);
  });

  it('logStatus other than Valid, a missing smsLog or broken XML are "not found"', () => {
    expect(parseDeliveryReport('<smsLog><logStatus>Invalid</logStatus></smsLog>')).toEqual({ found: false, detail: 'logStatus is "Invalid"' });
    expect(parseDeliveryReport('<other/>').found).toBe(false);
    expect(parseDeliveryReport('<smsLog><logStatus>Valid</smsLog>').found).toBe(false);
    expect(parseDeliveryReport('').found).toBe(false);
  });

  it('a bare ampersand in a message text does not make the report unreadable', () => {
    const report = parseDeliveryReport(
      '<smsLog><logStatus>Valid</logStatus><sms><smsMeta><smsTo>919876543210</smsTo><msg>T&C apply &amp; more &#38; R&D</msg></smsMeta><smsStatus><statusDesc>DELIVERED</statusDesc></smsStatus></sms></smsLog>',
    );
    expect(report.found && report.entries.map((e) => [e.phone, e.state])).toEqual([['+919876543210', 'delivered']]);
  });

  it('a Valid log with no rows is found with no entries', () => {
    expect(parseDeliveryReport('<smsLog><logStatus>Valid</logStatus></smsLog>')).toEqual({ found: true, entries: [] });
  });

  it.each([
    ['DELIVERED', 'delivered'],
    ['delivered', 'delivered'],
    ...['FAILED', 'REJECTED', 'UNDELIVERED', 'UNDELIVERABLE', 'EXPIRED', 'DELETED', 'DLT-CNT-REJECT'].map((s) => [s, 'failed']),
    ...['PENDING', 'QUEUED', 'ACCEPTED', 'ACCEPTD', 'SENT', 'SUBMITTED', '', '  '].map((s) => [s, 'pending']),
  ])('statusDesc %p → %s', (desc, state) => {
    expect(deliveryState(desc!)).toBe(state);
  });

  it.each(['DELIVRD', 'UNDELIV', 'REJECTD', 'delivered', 'FAILED', 'SENT', 'ENROUTE', 'DLT-CNT-REJECT', 'WEIRD'])(
    'polled %p is judged exactly as a pushed report with that status',
    (word) => {
      // The poller had a word list of its own: DELIVRD, UNDELIV and REJECTD stayed `sent` for good there while
      // the webhook finished them.
      expect(deliveryState(word, '27')).toBe(mapDeliveryStatus({ status: word, errorId: '27' }).state);
      expect(deliveryState(word)).toBe(mapDeliveryStatus({ status: word }).state);
    },
  );

  it('SMPP-style words are final on the poll path too', () => {
    expect(deliveryState('DELIVRD')).toBe('delivered');
    expect(deliveryState('UNDELIV')).toBe('failed');
    expect(deliveryState('REJECTD')).toBe('failed');
  });

  it('an unknown status word fails only with a real error id', () => {
    expect(deliveryState('WEIRD', '27')).toBe('failed');
    expect(deliveryState('WEIRD', '0')).toBe('pending');
    expect(deliveryState('WEIRD', 'NA')).toBe('pending');
    expect(deliveryState('WEIRD')).toBe('pending');
  });

  it('toE164 handles 91-prefixed, bare and already-E.164 numbers', () => {
    expect(toE164('919876543210')).toBe('+919876543210');
    expect(toE164('9876543210')).toBe('+919876543210');
    expect(toE164('+919876543210')).toBe('+919876543210');
  });
});
