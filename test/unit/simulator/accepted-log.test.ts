import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AcceptedLog } from '../../../src/simulator/accepted-log';
import { modeOf, withUmask022 } from '../../helpers/file-modes';

withUmask022();

it('creates its log of recipients 0600 (it lists every number sent to)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bulksms-accepted-log-'));
  try {
    const log = new AcceptedLog(path.join(dir, 'accepted.jsonl'));
    log.write(['919876543210'], 'h', 's1');
    await log.close();
    expect(readFileSync(log.path, 'utf8')).toContain('"to":"919876543210"');
    expect(modeOf(log.path)).toBe('0600');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
