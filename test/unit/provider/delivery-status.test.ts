import { mapDeliveryStatus, samePhone } from '../../../src/provider/twofactor/delivery-status';

describe('mapDeliveryStatus', () => {
  it.each([
    [{ status: 'DELIVERED', statusId: '5', errorId: '0', errorName: 'NO_ERROR' }, 'delivered', false],
    [{ status: 'delivered' }, 'delivered', false],
    [{ status: 'DLT-CNT-REJECT' }, 'failed', true],
    [{ status: 'REJECTED', errorName: 'DLT_CNT_REJECT' }, 'failed', true],
    [{ status: 'UNDELIVERED', errorId: '1', errorName: 'ABSENT_SUBSCRIBER' }, 'failed', false],
    [{ status: 'EXPIRED' }, 'failed', false],
    [{ status: 'PENDING' }, 'pending', false],
    [{ status: 'SUBMITTED', errorId: '0' }, 'pending', false],
    [{ status: 'WEIRD', errorPermanent: 'true', errorName: 'X' }, 'failed', false],
    [{ status: 'WEIRD', errorId: '27' }, 'failed', false],
    [{ status: 'WEIRD', errorId: '0' }, 'pending', false],
  ])('%j → %s', (fields, state, dlt) => {
    const m = mapDeliveryStatus(fields);
    expect(m.state).toBe(state);
    expect(m.dltReject).toBe(dlt);
    expect(m.reason === null).toBe(state !== 'failed');
  });

  it('builds a readable failure reason', () => {
    expect(mapDeliveryStatus({ status: 'UNDELIVERED', errorId: '1', errorName: 'ABSENT_SUBSCRIBER', errorDescription: 'Handset off' }).reason).toBe(
      'UNDELIVERED #1: ABSENT_SUBSCRIBER - Handset off',
    );
    expect(mapDeliveryStatus({ status: 'DLT-CNT-REJECT' }).reason).toBe('DLT-CNT-REJECT');
  });
});

describe('samePhone', () => {
  it('matches Indian numbers written with or without country code', () => {
    expect(samePhone('+919876500001', '919876500001')).toBe(true);
    expect(samePhone('+919876500001', '9876500001')).toBe(true);
    expect(samePhone('+919876500001', '+919876500002')).toBe(false);
    expect(samePhone('', '')).toBe(false);
  });
});
