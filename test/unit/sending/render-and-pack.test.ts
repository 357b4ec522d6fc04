import { messageSegments, renderMessage } from '../../../src/sending/materialise';
import { withRecipientPhone } from '../../../src/campaign/template';
import { buildRequest, packMessages } from '../../../src/sending/batch-sender';
import type { ClaimedMessage } from '../../../src/sending/ledger';
import type { CampaignSettings } from '../../../src/sending/campaign-states';

const msg = (id: number, text: string | null, vars: string[] | null = null): ClaimedMessage => ({
  id: String(id),
  status: 'sending',
  phone: `+91980000000${id}`,
  text,
  vars,
  attempts: 1,
  claimedAt: '1',
});

describe('renderMessage', () => {
  const free = { text: 'Hi {{Name}}, code {{code}}', template_name: null, template_vars: [] };
  it('renders free text with case-insensitive variables', () => {
    expect(renderMessage(free, { name: 'Asha', CODE: 42 })).toEqual({ status: 'pending', text: 'Hi Asha, code 42', vars: null, failureReason: null });
  });
  it('fails a message with a missing variable instead of sending a literal placeholder', () => {
    expect(renderMessage(free, { name: 'Asha' })).toEqual({ status: 'failed', text: null, vars: null, failureReason: 'missing variable: code' });
  });
  it('collects ordered template variables and fails on a missing one', () => {
    const tpl = { text: null, template_name: 'OTP', template_vars: ['name', 'amount'] };
    expect(renderMessage(tpl, { Name: 'Ravi', amount: '10' })).toMatchObject({ status: 'pending', vars: ['Ravi', '10'] });
    expect(renderMessage(tpl, { name: 'Ravi', amount: '' })).toMatchObject({ status: 'failed', failureReason: 'missing variable: amount' });
  });
  it('{{phone}} is the recipient\'s number, unless the list has a column called phone (in any case)', () => {
    const tpl = { text: 'Registered: {{phone}}', template_name: null, template_vars: [] };
    expect(renderMessage(tpl, withRecipientPhone({ name: 'Asha' }, '+919876500001'))).toMatchObject({ text: 'Registered: +919876500001' });
    expect(renderMessage(tpl, withRecipientPhone({ Phone: '0471 2345678' }, '+919876500001'))).toMatchObject({ text: 'Registered: 0471 2345678' });
  });
  it('fails a message whose variable value holds a placeholder instead of sending it as it stands', () => {
    const failed = { status: 'failed', text: null, vars: null, failureReason: 'placeholder in variable value: Name' };
    expect(renderMessage(free, { name: '{{first_name}}', code: '42' })).toEqual(failed);
    const tpl = { text: null, template_name: 'OTP', template_vars: ['amount', 'name'] };
    expect(renderMessage(tpl, { name: 'Dear {#var#}', amount: '10' })).toEqual({ ...failed, failureReason: 'placeholder in variable value: name' });
  });
  it('fails a message whose variable value holds a control character (a list imported before the import refused them)', () => {
    expect(renderMessage(free, { name: 'Ravi\u0092s', code: '42' })).toEqual({
      status: 'failed',
      text: null,
      vars: null,
      failureReason: 'control character in variable value: Name',
    });
    const tpl = { text: null, template_name: 'OTP', template_vars: ['amount', 'name'] };
    expect(renderMessage(tpl, { name: 'Asha\u0007', amount: '10' })).toMatchObject({ status: 'failed', failureReason: 'control character in variable value: name' });
  });
});

describe('packing', () => {
  it('groups consecutive identical texts up to the pack size', () => {
    const groups = packMessages([msg(1, 'a'), msg(2, 'a'), msg(3, 'a'), msg(4, 'b'), msg(5, 'a')], 2);
    expect(groups.map((g) => g.map((m) => m.id))).toEqual([['1', '2'], ['3'], ['4'], ['5']]);
  });
  it('never packs when the pack size is 1', () => {
    expect(packMessages([msg(1, 'a'), msg(2, 'a')], 1)).toHaveLength(2);
  });
  it('builds one request with all numbers of a pack; template campaigns send template + vars', () => {
    const campaign: CampaignSettings = { id: 'c', status: 'running', module: 'PROMO_SMS', sender: '123456', templateName: null, peid: '1', ctid: null, packSize: 2 };
    const req = buildRequest(campaign, [msg(1, 'a'), msg(2, 'a')]);
    expect(req).toEqual({ module: 'PROMO_SMS', to: ['+919800000001', '+919800000002'], from: '123456', content: { kind: 'text', text: 'a' }, peid: '1' });
    const tpl = buildRequest({ ...campaign, templateName: 'T1' }, [msg(3, null, ['x', 'y'])]);
    expect(tpl.content).toEqual({ kind: 'template', name: 'T1', vars: ['x', 'y'] });
  });
});

describe('messageSegments', () => {
  it('counts the parts of the text as sent, the values of a provider template, and none for a message never sent', () => {
    expect(messageSegments({ text: 'x'.repeat(161), vars: null })).toBe(2);
    expect(messageSegments({ text: 'नमस्ते '.repeat(12), vars: null })).toBe(2); // 84 UCS-2 units: 2 parts of 67
    expect(messageSegments({ text: null, vars: ['Asha', '42'] })).toBe(1);
    expect(messageSegments({ text: null, vars: null })).toBe(0);
  });
});
