/** Contact lists: streaming CSV upload into the importer, the list index and one list. */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Multipart, MultipartFile } from '@fastify/multipart';
import { auditNote, freeTextFor } from '../../access/fastify-access';
import { AppError, NotFoundError, ServiceError, ValidationError } from '../../errors';
import type { ApiDeps, ImportResult } from '../deps';
import { findNul } from '../reject-nul';
import { refuseControlInName } from '../../lib/names';
import { guardUpload, type GuardedUpload } from '../upload-stream';
import { RequestTimeoutError, TooManyRequestsError } from '../http-errors';
import { TimeoutError, withTimeout } from '../../lib/with-timeout';
import { recordImport } from '../../metrics-instrument';
import { errorResponses, idParams } from './schemas';
import { rejectsUrl } from './list-rejects';
import { LIST_PAGE, findContactList, listContactLists, type ContactListView } from '../../import/list-index';
import { deleteList } from '../../import/delete-list';

/** busboy's errors for a body that is not valid multipart (no boundary, cut short, bad part headers): the client's. */
const MALFORMED_MULTIPART = /^(Multipart: |Unexpected end of (multipart data|form)|Malformed (part header|content-disposition))/;

/** A malformed body becomes a 400 naming it; anything else is passed on as it is. */
function asClientError(err: unknown): unknown {
  if (err instanceof Error && !(err instanceof AppError) && MALFORMED_MULTIPART.test(err.message)) {
    return new ValidationError(`malformed multipart/form-data body: ${err.message}`, 'file');
  }
  return err;
}

const TEXT_FIELDS = ['name', 'phoneColumn', 'country'] as const;
type TextField = (typeof TEXT_FIELDS)[number];
const isTextField = (name: string): name is TextField => (TEXT_FIELDS as readonly string[]).includes(name);

/** Reads the parts after the CSV: a known field or any file there is refused (fields must precede the file). */
async function rejectTrailingParts(parts: AsyncIterator<Multipart>): Promise<void> {
  for (;;) {
    let next: IteratorResult<Multipart>;
    try {
      next = await parts.next();
    } catch (err) {
      // busboy's file limit (1): a second file, not an oversize one.
      if ((err as { code?: string }).code === 'FST_FILES_LIMIT') throw new ValidationError('send exactly one CSV file, as "file"', 'file');
      throw err;
    }
    if (next.done) return;
    const part = next.value;
    if (part.type === 'file') {
      part.file.resume();
      throw new ValidationError(`unexpected file field "${part.fieldname}" after the CSV: send exactly one CSV as "file"`, part.fieldname);
    }
    if (isTextField(part.fieldname)) {
      throw new ValidationError(`field "${part.fieldname}" must come before the file (the CSV is imported as it arrives)`, part.fieldname);
    }
  }
}

export interface ListUploadLimits {
  maxBytes: number;
  idleMs: number;
  /** The fields before the file (small: at most 20 of 64 KiB) must be in within this of the request's head. */
  fieldsTimeoutMs: number;
  /** Imports at once; each holds a PostgreSQL connection while its file arrives. */
  maxConcurrent: number;
}

/** An upload's answer when the server is told to stop (SIGTERM, a deploy) while its file is still arriving. */
export const SHUTTING_DOWN = 'the server is shutting down: nothing was imported; upload the file again';

export function registerListRoutes(app: FastifyInstance, deps: ApiDeps, limits: ListUploadLimits): void {
  const { container, services } = deps;
  let importing = 0;
  const arriving = new Set<GuardedUpload>();
  // Closing waits for requests in flight, and an upload still arriving made it wait for the whole file (or the
  // shutdown deadline, which then killed the process mid-import: the uploader got no answer and the list stayed
  // `importing`). Such an upload ends now instead, like a stalled one: its list is failed saying why, the uploader
  // gets a 503 to retry elsewhere. An upload whose file is all in goes on and commits.
  app.addHook('preClose', async () => {
    for (const upload of arriving) upload.abort(new ServiceError(SHUTTING_DOWN));
  });

  app.post(
    '/api/lists',
    {
      // The file streams into the importer for as long as it keeps coming (guardUpload bounds stalls), not to a deadline.
      config: { streamsBody: true },
      schema: {
        tags: ['lists'],
        summary: 'Upload a CSV (multipart/form-data: fields name, phoneColumn?, country? BEFORE the file field `file`)',
        consumes: ['multipart/form-data'],
        response: { ...errorResponses },
      },
    },
    async (req, reply) => {
      if (!req.isMultipart()) throw new ValidationError('expected multipart/form-data with a `file` field', 'file');
      try {
        return await upload(req, reply);
      } catch (err) {
        throw asClientError(err);
      }
    },
  );

  async function upload(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const fields: Partial<Record<TextField, string>> = {};
    let result: ImportResult | undefined;
    // Fields must precede the file: the import streams the file and needs the list name before the first byte.
    // What follows the file is read before the import commits (`rejectTrailingParts`): a field or file there is
    // a 400 and nothing is imported, not a list imported with the wrong country or phone column.
    const parts = req.parts();
    // Only the file streams for as long as it keeps coming: the fields before it are due like a JSON body, or a
    // client trickling its `name` held the connection for good (no byte for 30 s is the file's rule, not theirs).
    const fieldsDue = Date.now() + limits.fieldsTimeoutMs;
    const nextPart = (): Promise<IteratorResult<Multipart>> =>
      result !== undefined
        ? parts.next()
        : withTimeout(parts.next(), Math.max(0, fieldsDue - Date.now()), 'the fields before the file').catch((err: unknown) => {
          throw err instanceof TimeoutError
            ? new RequestTimeoutError(`the fields before the file did not arrive within ${limits.fieldsTimeoutMs / 1000} s: nothing was imported`)
            : err;
        });
    for (let next = await nextPart(); !next.done; next = await nextPart()) {
      const part = next.value;
      if (part.type === 'field') {
        // Refused like an unknown JSON property, not dropped: past the multipart limit of 20 fields busboy drops the
        // rest without a word, and an upload with many unknown fields lost its `name` ("name is required").
        if (!isTextField(part.fieldname)) {
          throw new ValidationError(`unexpected field "${part.fieldname.slice(0, 100)}": the upload takes ${TEXT_FIELDS.join(', ')}, then file`, part.fieldname.slice(0, 100));
        }
        // Given twice, the last one silently won (a list imported under the other name, or with the other phone column).
        if (fields[part.fieldname] !== undefined) throw new ValidationError(`field "${part.fieldname}" is given more than once`, part.fieldname);
        fields[part.fieldname] = String(part.value).trim();
        continue;
      }
      if (part.fieldname !== 'file') {
        part.file.resume();
        throw new ValidationError(`unexpected file field "${part.fieldname}": send exactly one CSV as "file"`, part.fieldname);
      }
      if (importing >= limits.maxConcurrent) {
        part.file.resume();
        throw new TooManyRequestsError(`${importing} imports are running; try again when one has finished`);
      }
      importing++;
      try {
        // The rest of the body is read before the import commits: bounded like the file itself, or a client that
        // stops right after the file's closing boundary holds the import's connection for good.
        const rest = (): Promise<void> =>
          withTimeout(rejectTrailingParts(parts), limits.idleMs, 'the rest of the upload').catch((err: unknown) => {
            throw err instanceof TimeoutError ? new RequestTimeoutError(`upload stalled after the file: no data for ${Math.round(limits.idleMs / 1000)} s, nothing was imported`) : err;
          });
        result = await importPart(part, reply.raw, fields, rest);
      } finally {
        importing--;
      }
    }
    if (!result) throw new ValidationError('field "file" (the CSV) is required', 'file');
    auditNote(req, { target: result.listId });
    const { rejectReport, ...counts } = result;
    return reply.status(201).send({ ...counts, rejectReportUrl: rejectsUrl({ id: result.listId, rejectReportPath: rejectReport }) });
  }

  async function importPart(
    part: MultipartFile,
    response: ServerResponse,
    fields: Partial<Record<TextField, string>>,
    beforeCommit: () => Promise<void>,
  ): Promise<ImportResult> {
    const upload = guardUpload(part.file, { maxBytes: limits.maxBytes, idleMs: limits.idleMs, response });
    arriving.add(upload);
    try {
      const opts = validateFields(fields);
      // The client's name for the file is stored on the list: PostgreSQL text cannot hold a NUL (it was a 500).
      if (part.filename.includes('\u0000')) throw new ValidationError('the file name contains a NUL character (U+0000)', 'file');
      const result = await services.importContacts(container, upload.stream, {
        ...opts,
        fileName: part.filename || 'upload.csv',
        beforeCommit,
      });
      // Belt and braces: an importer must never report success on a stream that was cut at the size limit.
      if (upload.exceeded()) throw new Error('importer finished on a truncated upload');
      recordImport(result);
      return result;
    } catch (err) {
      throw upload.exceeded() ? (upload.stream.errored ?? err) : err;
    } finally {
      arriving.delete(upload);
      upload.drain();
    }
  }

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/api/lists',
    {
      schema: {
        tags: ['lists'],
        summary: 'Contact lists, newest first; pass `nextCursor` back as `cursor` for the next page',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: LIST_PAGE.min, maximum: LIST_PAGE.max, default: LIST_PAGE.default },
            cursor: { type: 'string', maxLength: 128 },
          },
        },
      },
    },
    async (req) => {
      const { items, nextCursor } = await listContactLists(container, req.query);
      return { nextCursor, items: items.map((list) => shownList(req, list)) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/lists/:id',
    {
      schema: {
        tags: ['lists'],
        summary: 'One contact list: status (and why it failed), row counts, its columns (each usable as {{column}}) and its row report',
        params: idParams,
        response: errorResponses,
      },
    },
    async (req) => {
      const list = await findContactList(container, req.params.id, 'id');
      if (!list) throw new NotFoundError(`contact list ${req.params.id} not found`);
      return shownList(req, list);
    },
  );

  registerListDeleteRoute(app, deps);
}

/** `DELETE /api/lists/:id`, as `bulksms list delete`: refusals and the batched deletion are src/import/delete-list.ts. */
function registerListDeleteRoute(app: FastifyInstance, deps: ApiDeps): void {
  // Closing waits for requests in flight, and the delete of a big list ran to its end inside one: a SIGTERM waited out
  // the shutdown deadline, and the process exited 1 mid-batch. It stops between two batches instead, as a stopping
  // worker's finisher does, and answers 503: the list stays `deleting` and a worker finishes it.
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());
  app.delete<{ Params: { id: string } }>(
    '/api/lists/:id',
    {
      schema: {
        tags: ['lists'],
        summary:
          "Delete a list: its contacts (in batches) and reject report. 409 while it is importing or a campaign not yet finished uses it; " +
          "its finished campaigns keep their history. A list left `deleting` (a delete that was cut short) is finished by a running worker, or by deleting it again",
        params: idParams,
        response: errorResponses,
      },
    },
    async (req) => {
      const result = await deleteList(deps.container, req.params.id, { signal: closing.signal });
      auditNote(req, { details: { name: result.name, contactsRemoved: result.contactsRemoved, resumed: result.resumed } });
      return result;
    },
  );
}

/**
 * A list as an API caller sees it. The report's path on the server means nothing to an API client (and tells it the
 * server's layout): its URL instead. A failure reason may quote the file's first row (a file without a header: its
 * "columns" are a recipient's name and number): masked like the row report's raw rows wherever phones are.
 */
function shownList(req: FastifyRequest, { rejectReportPath, ...list }: ContactListView) {
  return { ...list, failureReason: freeTextFor(req, list.failureReason), rejectReportUrl: rejectsUrl({ id: list.id, rejectReportPath }) };
}

function validateFields(fields: Partial<Record<TextField, string>>): { listName: string; phoneColumn?: string; country?: string } {
  const name = fields.name;
  if (!name) throw new ValidationError('field "name" (the list name) is required and must come before "file"', 'name');
  // Multipart fields are not in req.body, so the API's NUL guard (reject-nul.ts) does not see them.
  const nul = findNul(fields);
  if (nul) throw new ValidationError(`field "${nul}" contains a NUL character (U+0000)`, nul);
  if (name.length > 200) throw new ValidationError('field "name" must be at most 200 characters', 'name');
  refuseControlInName(name, 'name', 'a list name');
  const country = fields.country?.toUpperCase();
  if (country !== undefined && country !== '' && !/^[A-Z]{2}$/.test(country)) {
    throw new ValidationError('field "country" must be an ISO 3166 alpha-2 code such as IN', 'country');
  }
  return {
    listName: name,
    ...(fields.phoneColumn ? { phoneColumn: fields.phoneColumn } : {}),
    ...(country ? { country } : {}),
  };
}
