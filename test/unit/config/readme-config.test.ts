import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_KEYS, loadConfig } from '../../../src/config';

const readme = readFileSync(path.join(__dirname, '../../../README.md'), 'utf8');

/** The rows of the README's "Configuration" table: variable and the default as written (`—` = none). */
function documentedDefaults(): Map<string, string> {
  const section = readme.split(/^## Configuration$/m)[1]?.split(/^## /m)[0] ?? '';
  return new Map([...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| ([^|]*) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]));
}

describe('README configuration', () => {
  it('documents only variables config.ts reads, each with the default it applies', () => {
    const documented = documentedDefaults();
    expect(documented.size).toBeGreaterThan(20);
    const defaults = loadConfig({}) as Readonly<Record<string, unknown>>;
    for (const [key, written] of documented) {
      expect([key, CONFIG_KEYS.includes(key)]).toEqual([key, true]);
      const real = defaults[key] === undefined ? '—' : `\`${String(defaults[key])}\``;
      expect([key, written]).toEqual([key, real]);
    }
  });

  it('names every variable config.ts reads, in the table or among the tooling ones', () => {
    const documented = documentedDefaults();
    const missing = CONFIG_KEYS.filter((key) => !documented.has(key) && !readme.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });
});
