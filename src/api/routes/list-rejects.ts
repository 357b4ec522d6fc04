/**
 * The import's row report over HTTP: which lines of an uploaded CSV were rejected, in which column and why. The
 * importer writes it on the server (REPORTS_DIR); an API or dashboard user has no other way to read it.
 */
import { createReadStream } from 'node:fs';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import type { FastifyInstance } from 'fastify';
import { phonesMasked } from '../../access/fastify-access';
import { maskDigitRuns } from '../../access/policy';
import { NotFoundError } from '../../errors';
import { REJECT_REPORT_HEADER, formatRejectLine } from '../../import/reject-report';
import type { ApiDeps } from '../deps';
import { errorResponses, idParams } from './schemas';

/** Where a list's row report is served (null when the import rejected nothing). */
export function rejectsUrl(list: { id: string; rejectReportPath: string | null }): string | null {
  return list.rejectReportPath ? `/api/lists/${list.id}/rejects.csv` : null;
}

export function registerListRejectRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Params: { id: string } }>(
    '/api/lists/:id/rejects.csv',
    {
      schema: {
        tags: ['lists'],
        summary: "The import's rejected rows as CSV (source_line, raw_row, column, reason); numbers in raw_row and reason masked unless phones may be shown",
        params: idParams,
        produces: ['text/csv'],
        response: errorResponses,
      },
    },
    async (req, reply) => {
      const list = await deps.container.prisma.contactList.findUnique({ where: { id: req.params.id }, select: { id: true, name: true, rejectReportPath: true } });
      if (!list) throw new NotFoundError(`contact list ${req.params.id} not found`);
      if (!list.rejectReportPath) throw new NotFoundError(`contact list "${list.name}" has no rejected rows`);
      const file = createReadStream(list.rejectReportPath);
      // Opened before the answer starts, so a report removed from disk is a 404, not a cut-off 200.
      await new Promise<void>((resolve, reject) => {
        file.once('open', () => resolve());
        file.once('error', reject);
      }).catch(() => {
        throw new NotFoundError(`the row report of contact list "${list.name}" is no longer on the server`);
      });
      reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="rejects-${list.id}.csv"`);
      return reply.send(rows(file, phonesMasked(req)));
    },
  );
}

/** The report re-written row by row: raw rows hold whole CSV lines, so their numbers are masked for viewers. */
function rows(file: NodeJS.ReadableStream, mask: boolean): Readable {
  const parser: Transform = parse({ from_line: 2, relax_column_count: true });
  const out = Readable.from(
    (async function* () {
      yield REJECT_REPORT_HEADER;
      // The reason quotes the value it refused ("invalid number (too short): 12345"): masked as well.
      const shown = mask ? maskDigitRuns : (text: string) => text;
      for await (const record of parser as AsyncIterable<string[]>) {
        const [line = '', raw = '', column = '', reason = ''] = record;
        // Cells the report neutralised for spreadsheets keep their apostrophe: formatRejectLine adds none to those.
        yield formatRejectLine({ line: Number(line), raw: shown(raw), column, reason: shown(reason) });
      }
    })(),
  );
  pipeline(file, parser).catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
  return out;
}
