/**
 * The archive manifest: one JSON file per destination listing every run file with its row count,
 * SHA-256 and columns, and the state of the run's rows. It is rewritten atomically after every state
 * change, which is what makes a crashed archive resumable:
 *   exported → the file is published and verified; rows may still (partly) be in the database
 *   deleted  → the file is the only copy of the run's messages
 */
import { z } from 'zod';
import { ServiceError, ValidationError } from '../errors';
import { MANIFEST_NAME, type ArchiveDestination } from './destination';

export const MANIFEST_FORMAT = 'bulksms-archive/1';

const column = z.object({ name: z.string(), type: z.string() });
export type ArchiveColumn = z.infer<typeof column>;

const fileEntry = z.object({
  runId: z.string().uuid(),
  campaignId: z.string().uuid(),
  runNumber: z.number().int(),
  regulated: z.boolean(),
  endedAt: z.string(),
  /** Key relative to the manifest, e.g. runs/<runId>.copy.gz */
  file: z.string(),
  table: z.literal('messages'),
  /** PostgreSQL COPY text format, gzip-compressed. */
  format: z.literal('copy-text+gzip'),
  columns: z.array(column),
  rows: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  minId: z.string().nullable(),
  maxId: z.string().nullable(),
  state: z.enum(['exported', 'deleted']),
  exportedAt: z.string(),
  deletedAt: z.string().nullable(),
});
export type ManifestFile = z.infer<typeof fileEntry>;

const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  updatedAt: z.string(),
  files: z.array(fileEntry),
});
export type Manifest = z.infer<typeof manifestSchema>;

export function emptyManifest(): Manifest {
  return { format: MANIFEST_FORMAT, updatedAt: new Date().toISOString(), files: [] };
}

export function parseManifest(text: string, where: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${where}: not JSON (${(err as Error).message})`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(`${where}: not a bulksms archive manifest (${issue.path.join('.')}: ${issue.message})`);
  }
  return parsed.data;
}

/**
 * `given`: the operator named the file (`bulksms restore <manifest>`): one that is not a manifest is bad input
 * (exit 2). Otherwise it is the archive's own manifest, and damage to it is a fault of the store (exit 1).
 */
export async function loadManifest(dest: ArchiveDestination, key = MANIFEST_NAME, given = false): Promise<Manifest | null> {
  const text = await dest.readText(key);
  if (text === null) return null;
  try {
    return parseManifest(text, `${dest.location}/${key}`);
  } catch (err) {
    throw err instanceof ValidationError && !given ? new ServiceError(err.message, { cause: err }) : err;
  }
}

export async function saveManifest(dest: ArchiveDestination, m: Manifest): Promise<void> {
  m.updatedAt = new Date().toISOString();
  await dest.writeText(MANIFEST_NAME, `${JSON.stringify(m, null, 2)}\n`);
}

/**
 * Insert or replace the entry of a file. Keyed by file (run + id range), not by run: a run archived again after a
 * partial restore has a second file, and replacing the first one's entry left its rows restorable only by hand.
 */
export function upsertFile(m: Manifest, entry: ManifestFile): void {
  const i = m.files.findIndex((f) => f.file === entry.file);
  if (i >= 0) m.files[i] = entry;
  else m.files.push(entry);
}
