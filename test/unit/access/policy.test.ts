import { ACCESS_LEVELS, ACTIONS, decide, decideAction, maskDigitRuns, maskPhone, ROLES, type Action, type Role } from '../../../src/access/policy';

describe('role × access level matrix', () => {
  // Expected outcome without / with an OTP grant: A = allow, F = forbidden, O = otp required.
  const expected: Record<Role, Record<string, [string, string]>> = {
    owner: { read: ['A', 'A'], write: ['A', 'A'], admin: ['A', 'A'], unmasked: ['O', 'A'] },
    operator: { read: ['A', 'A'], write: ['A', 'A'], admin: ['F', 'F'], unmasked: ['F', 'F'] },
    viewer: { read: ['A', 'A'], write: ['F', 'F'], admin: ['F', 'F'], unmasked: ['F', 'F'] },
  };
  const code = (d: ReturnType<typeof decide>) => (d.allow ? 'A' : d.reason === 'otp_required' ? 'O' : 'F');

  for (const role of ROLES) {
    for (const level of ACCESS_LEVELS) {
      it(`${role} ${level}`, () => {
        expect(code(decide(role, level, { otpGranted: false }))).toBe(expected[role][level]![0]);
        expect(code(decide(role, level, { otpGranted: true }))).toBe(expected[role][level]![1]);
      });
    }
  }

  it('masks phones for everyone except an owner holding a grant', () => {
    for (const role of ROLES) {
      for (const granted of [false, true]) {
        expect(decide(role, 'read', { otpGranted: granted }).maskPhones).toBe(!(role === 'owner' && granted));
      }
    }
  });

  it('audits state changes and unmasked reads, not masked reads', () => {
    expect(decide('viewer', 'read').audit).toBe(false);
    expect(decide('owner', 'read', { otpGranted: false }).audit).toBe(false);
    expect(decide('owner', 'read', { otpGranted: true }).audit).toBe(true);
    expect(decide('operator', 'write').audit).toBe(true);
    expect(decide('owner', 'admin').audit).toBe(true);
  });

  it('covers every named action for every role', () => {
    const allowed = (role: Role) =>
      (Object.keys(ACTIONS) as Action[]).filter((a) => decideAction(role, a, { otpGranted: true }).allow).sort();
    expect(allowed('viewer')).toEqual([
      'campaign.list', 'campaign.show', 'campaign.status', 'health.read', 'list.show', 'message.list', 'metrics.read', 'suppression.show',
    ]);
    expect(allowed('operator')).toEqual([
      'campaign.cancel', 'campaign.create', 'campaign.list', 'campaign.pause', 'campaign.resume', 'campaign.retry',
      'campaign.show', 'campaign.start', 'campaign.status', 'health.read', 'list.delete', 'list.import', 'list.show', 'message.list',
      'metrics.read', 'suppression.add', 'suppression.remove', 'suppression.show',
    ]);
    expect(allowed('owner')).toHaveLength(Object.keys(ACTIONS).length);
    expect(decideAction('owner', 'message.export.unmasked', { otpGranted: false }).reason).toBe('otp_required');
  });
});

describe('maskPhone', () => {
  it.each([
    ['+919876543210', '+91******3210'],
    ['+14155550123', '+1******0123'],
    ['+447911123456', '+44******3456'],
    ['+9715012345678', '+971******5678'],
    ['9876543210', '******3210'],
    ['123', '***'],
    // Short national numbers: never more than half shown, never a RangeError (3 digits after a 3-digit code).
    ['+29051234', '+290***34'],
    ['+6907234', '+690**34'],
    ['+690723', '+690**3'],
    ['12345', '***45'],
  ])('%s → %s', (input, output) => {
    expect(maskPhone(input)).toBe(output);
  });
});

describe('maskDigitRuns', () => {
  it.each([
    ['98765 43210,Asha,12', '***** *3210,Asha,12'],
    ['+91 98765-43210', '+** *****-*3210'],
    ['"(022) 2345 6789",x', '"(***) **** 6789",x'],
    ['12345', '***45'],
    ['(987) 654/3210', '(***) ***/3210'],
    ['pin 1234, age 42', 'pin 1234, age 42'],
    // Excel's scientific notation of a phone number is one too.
    ['9.19876E+11', '*.**876E+11'],
    ['919876543210;917000000001', '********3210;********0001'],
    // Durations and sizes in the provider client's own texts are no phone numbers; a word that only starts like a unit is no unit.
    ['timed out after the request was sent: no complete answer within 10000 ms', 'timed out after the request was sent: no complete answer within 10000 ms'],
    ['answer larger than 1048576 bytes', 'answer larger than 1048576 bytes'],
    ['9876543210 msisdn refused', '******3210 msisdn refused'],
    // Our own alerts: ids and credit figures stay readable; a phone number beside them is still masked.
    [
      'campaign 30185064-5717-4562-8312-209630660106 not started: it needs 12345 TRANSACTIONAL_SMS credits but the provider balance is 99999 (short by 87654)',
      'campaign 30185064-5717-4562-8312-209630660106 not started: it needs 12345 TRANSACTIONAL_SMS credits but the provider balance is 99999 (short by 87654)',
    ],
    ['not enough credits: needs at least 250000 credits, 9876543210 refused', 'not enough credits: needs at least 250000 credits, ******3210 refused'],
    ['run 3fa85f64-5717-4562-b3fc-2c963f66afa6 of 919876543210', 'run 3fa85f64-5717-4562-b3fc-2c963f66afa6 of ********3210'],
  ])('%s → %s', (input, output) => {
    expect(maskDigitRuns(input)).toBe(output);
  });
});
