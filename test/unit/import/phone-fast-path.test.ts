/**
 * The Indian-mobile fast path must never disagree with libphonenumber: on a large table of generated
 * inputs (every spelling the fast path knows, plus near misses) each number it accepts is accepted by
 * libphonenumber with the same E.164, and it accepts (nearly) every spelling libphonenumber accepts.
 */
import { fastIndianMobile, slowNormalise } from '../../../src/import/phone';
import { prng } from '../../../src/demo/sample-csv';

const SPELLINGS: ((n: string) => string)[] = [
  (n) => n,
  (n) => `+91${n}`,
  (n) => `91${n}`,
  (n) => `0${n}`,
  (n) => `0091${n}`,
  (n) => `+91 ${n.slice(0, 5)} ${n.slice(5)}`,
  (n) => `${n.slice(0, 3)}-${n.slice(3, 6)}-${n.slice(6)}`,
  (n) => `(${n.slice(0, 3)}) ${n.slice(3, 6)}.${n.slice(6)}`,
  (n) => `+91-${n}`,
  (n) => ` ${n} `,
];

describe('fast path for Indian mobiles', () => {
  const random = prng(7);
  const inputs: string[] = [];
  for (let i = 0; i < 20000; i++) {
    // Every leading digit, so landlines, toll-free and unallocated ranges are covered, not just 6-9.
    const national = String(Math.floor(random() * 1e10)).padStart(10, '0');
    inputs.push(SPELLINGS[i % SPELLINGS.length]!(national));
  }
  for (let i = 0; i < 3000; i++) {
    const len = 5 + Math.floor(random() * 10); // near misses: other lengths
    inputs.push(String(Math.floor(random() * 10 ** len)).padStart(len, '0'));
  }

  it('accepts only what libphonenumber accepts, with the same E.164', () => {
    const disagreements: string[] = [];
    for (const raw of inputs) {
      const fast = fastIndianMobile(raw);
      if (fast === null) continue;
      const slow = slowNormalise(raw, 'IN');
      if (!slow.ok || slow.e164 !== fast) disagreements.push(`${raw}: fast ${fast}, libphonenumber ${JSON.stringify(slow)}`);
    }
    expect(disagreements).toEqual([]);
  });

  it('takes (nearly) every spelled-out mobile that libphonenumber accepts, so it is really used', () => {
    let slowAccepted = 0;
    let fastAccepted = 0;
    for (const raw of inputs.slice(0, 20000)) {
      const slow = slowNormalise(raw, 'IN');
      if (!slow.ok || !slow.e164.startsWith('+91')) continue;
      slowAccepted++;
      if (fastIndianMobile(raw) === slow.e164) fastAccepted++;
    }
    expect(slowAccepted).toBeGreaterThan(2000);
    expect(fastAccepted / slowAccepted).toBeGreaterThan(0.99);
  });
});
