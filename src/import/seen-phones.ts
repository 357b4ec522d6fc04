/**
 * Fixed-size Bloom filter over the numbers an import has already written. It answers "certainly new" for
 * almost every row; only the "maybe seen" rows (every later occurrence of a number plus a few false
 * positives) are noted for the end-of-import duplicate pass (duplicates.ts), which then looks at those
 * numbers only. A false positive costs a little work, never correctness; a false negative cannot happen.
 *
 * Memory is fixed (8 MB) whatever the file size: the false-positive rate is ~1e-6 at 1M numbers,
 * ~0.3 % at 5M and degrades gracefully beyond.
 */
const PROBES = 5;

/** murmur3's finaliser: numbers differ mostly in their last digits, which must reach every bit. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export class SeenPhones {
  private readonly bits: Int32Array;
  private readonly mask: number;

  /** 2^bitsLog2 bits; the default 26 = 64 Mi bits = 8 MB. Tests pass a tiny size to force false positives. */
  constructor(bitsLog2 = 26) {
    if (!Number.isInteger(bitsLog2) || bitsLog2 < 5 || bitsLog2 > 30) throw new RangeError('bitsLog2 must be an integer in 5..30');
    this.bits = new Int32Array(1 << (bitsLog2 - 5));
    this.mask = (1 << bitsLog2) - 1;
  }

  /** Records the number; returns true if it was (maybe) recorded before, false if certainly not. */
  testAndAdd(phone: string): boolean {
    // Two independent 32-bit FNV-1a style hashes, combined by double hashing (Kirsch–Mitzenmacher).
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193;
    for (let i = 0; i < phone.length; i++) {
      const c = phone.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    h1 = mix(h1);
    h2 = mix(h2) | 1;
    let seen = true;
    for (let k = 0; k < PROBES; k++) {
      const bit = (h1 + Math.imul(k, h2)) & this.mask;
      const word = bit >>> 5;
      const flag = 1 << (bit & 31);
      if ((this.bits[word]! & flag) === 0) {
        seen = false;
        this.bits[word] = this.bits[word]! | flag;
      }
    }
    return seen;
  }
}
