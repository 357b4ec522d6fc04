/** The import's Bloom filter: never "new" for a number it has seen; rarely "seen" for one it has not. */
import { SeenPhones } from '../../../src/import/seen-phones';

const number = (i: number): string => `+91${6000000000 + i * 7919}`;

describe('SeenPhones', () => {
  it('answers "seen" for every number added before, and almost never for a new one', () => {
    const seen = new SeenPhones();
    let firstTimeSeen = 0;
    for (let i = 0; i < 300_000; i++) if (seen.testAndAdd(number(i))) firstTimeSeen++;
    // At 300k numbers in 64 Mi bits the expected false-positive rate is ~1e-8.
    expect(firstTimeSeen).toBeLessThanOrEqual(2);
    let forgotten = 0;
    for (let i = 0; i < 300_000; i++) if (!seen.testAndAdd(number(i))) forgotten++;
    expect(forgotten).toBe(0);
    let falsePositives = 0;
    for (let i = 300_000; i < 600_000; i++) if (seen.testAndAdd(number(i))) falsePositives++;
    expect(falsePositives).toBeLessThanOrEqual(2);
  });

  it('tells numbers that differ only in the last digit apart', () => {
    const seen = new SeenPhones();
    expect(seen.testAndAdd('+919876543210')).toBe(false);
    expect(seen.testAndAdd('+919876543211')).toBe(false);
    expect(seen.testAndAdd('+919876543210')).toBe(true);
  });

  it('degrades to "maybe seen" when overfull, never to a false "new"', () => {
    const tiny = new SeenPhones(5);
    for (let i = 0; i < 100; i++) tiny.testAndAdd(number(i));
    for (let i = 0; i < 100; i++) expect(tiny.testAndAdd(number(i))).toBe(true);
    expect(tiny.testAndAdd('+919999999999')).toBe(true);
  });

  it('rejects a size it cannot hold', () => {
    expect(() => new SeenPhones(31)).toThrow(RangeError);
    expect(() => new SeenPhones(4)).toThrow(RangeError);
  });
});
