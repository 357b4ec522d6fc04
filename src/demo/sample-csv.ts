/**
 * Generates the demo's sample contact list: realistic Indian mobile numbers in the mixed formats CRM
 * exports contain, a few invalid numbers and a few duplicates (so the reject report has something to say).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

const FIRST_NAMES = ['Aarav', 'Priya', 'Rohan', 'Ananya', 'Vikram', 'Sneha', 'Arjun', 'Kavya', 'Rahul', 'Isha', 'Karan', 'Meera'];
const CITIES = ['Mumbai', 'Delhi', 'Bengaluru', 'Chennai', 'Kolkata', 'Pune', 'Hyderabad', 'Jaipur'];

/** Deterministic PRNG (mulberry32) so the same seed gives the same file. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function formatNumber(tenDigits: string, style: number): string {
  switch (style % 6) {
    case 0: return tenDigits;
    case 1: return `+91${tenDigits}`;
    case 2: return `91${tenDigits}`;
    case 3: return `0${tenDigits}`;
    case 4: return `+91 ${tenDigits.slice(0, 5)} ${tenDigits.slice(5)}`;
    default: return `${tenDigits.slice(0, 3)}-${tenDigits.slice(3, 6)}-${tenDigits.slice(6)}`;
  }
}

export interface SampleCsvOptions {
  rows: number;
  invalidShare?: number;
  duplicateShare?: number;
  seed?: number;
}

export interface SampleCsvSummary {
  rows: number;
  invalid: number;
  duplicates: number;
}

export async function writeSampleCsv(path: string, opts: SampleCsvOptions): Promise<SampleCsvSummary> {
  const rand = prng(opts.seed ?? 42);
  const invalidShare = opts.invalidShare ?? 0.02;
  const duplicateShare = opts.duplicateShare ?? 0.01;
  const out = createWriteStream(path);
  const seen: string[] = [];
  let invalid = 0;
  let duplicates = 0;
  const write = async (line: string) => {
    if (!out.write(line)) await once(out, 'drain');
  };
  await write('Name,Mobile Number,City,Order ID\n');
  for (let i = 0; i < opts.rows; i++) {
    const name = FIRST_NAMES[Math.floor(rand() * FIRST_NAMES.length)]!;
    const city = CITIES[Math.floor(rand() * CITIES.length)]!;
    const r = rand();
    let phone: string;
    if (r < invalidShare) {
      invalid++;
      phone = i % 2 === 0 ? `12345${i % 1000}` : 'not-a-number';
    } else if (r < invalidShare + duplicateShare && seen.length > 0) {
      duplicates++;
      phone = formatNumber(seen[Math.floor(rand() * seen.length)]!, i);
    } else {
      // Unique by construction: 9 + eight digits from the row index + a check-ish digit.
      const ten = `9${String(10_000_000 + i).slice(-8)}${i % 10}`;
      seen.push(ten);
      phone = formatNumber(ten, Math.floor(rand() * 6));
    }
    await write(`${name},"${phone}",${city},ORD-${100000 + i}\n`);
  }
  out.end();
  await once(out, 'finish');
  return { rows: opts.rows, invalid, duplicates };
}
