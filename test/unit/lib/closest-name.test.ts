import { closestName, editDistance } from '../../../src/lib/closest-name';

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and swapped neighbours', () => {
    expect(editDistance('diwali', 'diwali')).toBe(0);
    expect(editDistance('diwalli', 'diwali')).toBe(1);
    expect(editDistance('diwal', 'diwali')).toBe(1);
    expect(editDistance('diwaki', 'diwali')).toBe(1);
    expect(editDistance('dwiali', 'diwali')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('stops past the limit', () => {
    expect(editDistance('orders', 'completely-different', 2)).toBe(3);
    expect(editDistance('abcdef', 'uvwxyz', 2)).toBe(3);
  });
});

describe('closestName', () => {
  const lists = ['orders', 'diwali', 'diwali-2025', 'leads'];

  it('finds a name typed in another case or with spaces around it', () => {
    expect(closestName('Orders', lists)).toBe('orders');
    expect(closestName(' leads ', lists)).toBe('leads');
  });

  it('finds a name a few keystrokes away', () => {
    expect(closestName('diwalli', lists)).toBe('diwali');
    expect(closestName('oders', lists)).toBe('orders');
    expect(closestName('diwali-2052', lists)).toBe('diwali-2025');
  });

  it('suggests nothing when no name is close, or two are equally close', () => {
    expect(closestName('customers', lists)).toBeNull();
    expect(closestName('x', ['a', 'b'])).toBeNull();
    expect(closestName('', lists)).toBeNull();
    expect(closestName('Leads', ['leads', 'LEADS'])).toBeNull();
  });
});
