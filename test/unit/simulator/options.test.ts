import { applyPatch, parseLatency, resolveOptions } from '../../../src/simulator/options';
import { drawFinal, renderReport } from '../../../src/simulator/delivery';
import { parseDeliveryReport } from '../../../src/provider/twofactor/dlr';
import { normaliseNumber, renderTemplate } from '../../../src/simulator/r1';
import { ValidationError } from '../../../src/errors';

describe('simulator options', () => {
  it('applies defaults and validates', () => {
    const o = resolveOptions({ apiKey: 'k' });
    expect(o).toMatchObject({ port: 0, rate: 200, latencyMs: [0, 0], balance: null });
    expect(() => resolveOptions({ apiKey: 'k', failRate: 2 })).toThrow(ValidationError);
    expect(() => resolveOptions({ apiKey: 'k', dlrFailRate: 0.6, dltRejectRate: 0.6 })).toThrow(/must be <= 1/);
  });

  it('patches at runtime and rejects unknown keys', () => {
    const o = resolveOptions({ apiKey: 'k', balance: 5 });
    expect(applyPatch(o, { balance: 100, apiKey: 'k2' })).toMatchObject({ balance: 100, apiKey: 'k2', rate: 200 });
    expect(() => applyPatch(o, { balanse: 1 })).toThrow(/invalid simulator patch/);
    expect(() => applyPatch(o, { rate: -1 })).toThrow(ValidationError);
  });

  it('parses --latency', () => {
    expect(parseLatency('100-500')).toEqual([100, 500]);
    expect(parseLatency('0')).toEqual([0, 0]);
    expect(() => parseLatency('500-100')).toThrow(/above max/);
    expect(() => parseLatency('fast')).toThrow(/--latency/);
  });
});

describe('simulator pure helpers', () => {
  it('draws final states by share', () => {
    expect(drawFinal(0.05, 0.2, 0.1)).toBe('DLT-CNT-REJECT');
    expect(drawFinal(0.15, 0.2, 0.1)).toBe('FAILED');
    expect(drawFinal(0.35, 0.2, 0.1)).toBe('DELIVERED');
    expect(drawFinal(0, 0, 0)).toBe('DELIVERED');
  });

  it('renders reports our parser reads back (pending before finalAt, final after, XML-escaped text)', () => {
    const session = {
      id: 's1',
      text: 'a < b & "c"',
      recipients: [
        { to: '919876543210', final: 'DELIVERED' as const },
        { to: '918765432109', final: 'DLT-CNT-REJECT' as const },
      ],
      finalAt: 1000,
    };
    const pending = parseDeliveryReport(renderReport(session, 999));
    expect(pending.found && pending.entries.map((e) => e.state)).toEqual(['pending', 'pending']);
    const final = parseDeliveryReport(renderReport(session, 1000));
    expect(final.found && final.entries.map((e) => [e.phone, e.state, e.dltReject])).toEqual([
      ['+919876543210', 'delivered', false],
      ['+918765432109', 'failed', true],
    ]);
    expect(parseDeliveryReport(renderReport(undefined, 0)).found).toBe(false);
  });

  it('normalises Indian numbers and renders templates', () => {
    expect(normaliseNumber('+919876543210')).toBe('919876543210');
    expect(normaliseNumber('9876543210')).toBe('919876543210');
    expect(normaliseNumber('12345')).toBeNull();
    expect(normaliseNumber('+14155550100')).toBeNull();
    expect(renderTemplate('Hi {#var#}, code {#var#}', ['Asha', '42'])).toBe('Hi Asha, code 42');
  });
});
