/**
 * The repository carries the operator contract (docs/cli-contract.md) for readers who have only the repository; the
 * team's shared folder holds the original. Where both exist they must say the same, or one of them is not true.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '../../..');
const copy = path.join(root, 'docs/cli-contract.md');
const shared = path.join(root, '../shared/cli-contract.md');

describe('docs/cli-contract.md', () => {
  it('names every command the README example uses', () => {
    const text = readFileSync(copy, 'utf8');
    for (const command of ['bulksms migrate', 'bulksms import', 'bulksms campaign create', 'bulksms worker', 'bulksms serve', 'bulksms simulator']) {
      expect(text).toContain(command);
    }
  });

  (existsSync(shared) ? it : it.skip)('is the same as the shared contract it copies', () => {
    expect(readFileSync(copy, 'utf8')).toBe(readFileSync(shared, 'utf8'));
  });
});
