/** A CSV file of `content` in a fresh temp directory (`<prefix>…/contacts.csv`); returns its path. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export async function writeTempCsv(prefix: string, content: string): Promise<string> {
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), prefix)), 'contacts.csv');
  await writeFile(file, content);
  return file;
}
