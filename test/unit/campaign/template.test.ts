import { placeholders, renderTemplate } from '../../../src/campaign/template';

describe('renderTemplate', () => {
  it('fills {{column}} from variables, matching names case- and space-insensitively', () => {
    expect(renderTemplate('Hi {{Name}}, your code {{ order id }}', { name: 'Asha', 'Order ID': 'A-42' })).toEqual({
      ok: true,
      text: 'Hi Asha, your code A-42',
    });
  });

  it('reports every missing or empty variable instead of sending a literal placeholder', () => {
    expect(renderTemplate('Hi {{name}} {{city}} {{name}}', { name: '' })).toEqual({ ok: false, missing: ['name', 'city'] });
  });

  it('leaves text without placeholders alone and lists placeholders once', () => {
    expect(renderTemplate('Plain text {not} a var', {})).toEqual({ ok: true, text: 'Plain text {not} a var' });
    expect(placeholders('{{a}} {{ b }} {{a}}')).toEqual(['a', 'b']);
  });
});
