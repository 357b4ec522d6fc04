import { compareIds } from '../../../src/sending/ids';

describe('compareIds (numeric order of bigint ids as text)', () => {
  it('orders like BigInt for random ids of mixed lengths, including across digit-count boundaries', () => {
    const ids = ['9', '10', '99', '100', '9007199254740993', '9007199254740992', '18446744073709551615', '123456789012'];
    for (let i = 0; i < 500; i++) ids.push(String(BigInt(Math.floor(Math.random() * 1e6)) * BigInt(10 ** Math.floor(Math.random() * 12)) + 7n));
    const expected = [...ids].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
    expect([...ids].sort(compareIds)).toEqual(expected);
  });

  it('is 0 only for equal ids', () => {
    expect(compareIds('42', '42')).toBe(0);
    expect(compareIds('42', '43')).toBeLessThan(0);
    expect(compareIds('100', '99')).toBeGreaterThan(0);
  });
});
