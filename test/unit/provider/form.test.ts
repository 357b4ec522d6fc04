import { buildSendForm, toProviderNumber } from '../../../src/provider/twofactor/form';

describe('R1 send form', () => {
  it('converts E.164 to 2Factor 91XXXXXXXXXX and joins several recipients with commas', () => {
    expect(toProviderNumber('+919876543210')).toBe('919876543210');
    const form = buildSendForm(
      { module: 'TRANS_SMS', to: ['+919876543210', '+918765432109'], from: 'ACMEIN', content: { kind: 'text', text: 'Hi ₹50 & more' } },
      'KEY-1',
    );
    expect(form.get('to')).toBe('919876543210,918765432109');
    expect(form.get('msg')).toBe('Hi ₹50 & more');
    expect(form.toString()).toContain('msg=Hi+%E2%82%B950+%26+more');
    expect(form.get('module')).toBe('TRANS_SMS');
    expect(form.get('apikey')).toBe('KEY-1');
    expect(form.has('templatename')).toBe(false);
    expect(form.has('peid')).toBe(false);
  });

  it('template sends carry templatename and var1..varN, plus peid/ctid when given', () => {
    const form = buildSendForm(
      { module: 'PROMO_SMS', to: ['+919876543210'], from: '123456', content: { kind: 'template', name: 'OFFER', vars: ['Asha', '20%'] }, peid: '1101', ctid: '1207' },
      'k',
    );
    expect(form.get('templatename')).toBe('OFFER');
    expect(form.get('var1')).toBe('Asha');
    expect(form.get('var2')).toBe('20%');
    expect(form.has('var3')).toBe(false);
    expect(form.has('msg')).toBe(false);
    expect(form.get('peid')).toBe('1101');
    expect(form.get('ctid')).toBe('1207');
  });
});
