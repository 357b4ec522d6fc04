/**
 * Small, real (PostgreSQL-backed) stand-ins for the domain services the API calls, used by the API tests
 * until the owning teams' implementations are on main. They honour the interfaces.md signatures and the
 * error contract (ValidationError → 400, NotFoundError → 404), nothing more.
 */
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { Container } from '../../src/container';
import { NotFoundError, ValidationError } from '../../src/errors';
import { MESSAGE_STATUSES, type ApiServices, type StatusCounts } from '../../src/api/deps';

export interface StubServices extends ApiServices {
  callbacks: Record<string, string>[];
}

async function countsOf(c: Container, campaignId: string): Promise<{ total: number; counts: StatusCounts }> {
  const groups = await c.prisma.message.groupBy({ by: ['status'], where: { campaignId }, _count: { _all: true } });
  const counts = Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0])) as StatusCounts;
  for (const g of groups) counts[g.status] = g._count._all;
  return { total: Object.values(counts).reduce((a, b) => a + b, 0), counts };
}

async function setStatus(c: Container, campaignId: string, status: 'paused' | 'running' | 'cancelled') {
  const row = await c.prisma.campaign.update({ where: { id: campaignId }, data: { status } });
  return { campaignId, status: row.status };
}

export function stubServices(): StubServices {
  const callbacks: Record<string, string>[] = [];
  return {
    callbacks,
    async importContacts(c: Container, source: Readable, opts) {
      const phoneColumn = opts.phoneColumn ?? 'phone';
      const parser = source.pipe(parse({ columns: true, bom: true, skip_empty_lines: true, info: true }));
      // pipe() does not forward errors: a cut upload (413) must fail the import, not end it early.
      source.on('error', (err) => parser.destroy(err));
      const rows: { phone: string; raw: string; line: number; vars: Record<string, string> }[] = [];
      let rejected = 0;
      for await (const rec of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
        if (!(phoneColumn in rec.record)) {
          throw new ValidationError(`${opts.fileName}: line 1: no "${phoneColumn}" column in the header`, 'phoneColumn');
        }
        const raw = rec.record[phoneColumn] ?? '';
        const digits = raw.replace(/\D/g, '');
        if (digits.length === 10) rows.push({ phone: `+91${digits}`, raw, line: rec.info.lines, vars: rec.record });
        else rejected++;
      }
      const list = await c.prisma.contactList.create({
        data: { name: opts.listName, status: 'ready', rows: rows.length + rejected, accepted: rows.length, rejected },
      });
      await c.prisma.contact.createMany({
        data: rows.map((r) => ({ listId: list.id, phone: r.phone, rawPhone: r.raw, sourceLine: r.line, variables: r.vars })),
        skipDuplicates: true,
      });
      return { listId: list.id, rows: rows.length + rejected, accepted: rows.length, rejected, duplicates: 0, suppressed: 0, rejectReport: null };
    },
    async createCampaign(c: Container, input) {
      const list = await c.prisma.contactList.findFirst({
        where: /^[0-9a-f-]{36}$/.test(input.list) ? { id: input.list } : { name: input.list },
      });
      if (!list) throw new NotFoundError(`list ${input.list} not found`);
      if (!input.text && !input.template) throw new ValidationError('one of text or template is required', 'text');
      const campaign = await c.prisma.campaign.create({
        data: { name: input.name, listId: list.id, type: input.type, sender: input.from, text: input.text ?? null },
      });
      return {
        campaignId: campaign.id, status: 'draft', recipients: list.accepted, encoding: 'GSM-7',
        segments: 1, segmentsMin: 1, segmentsMax: 1, credits: list.accepted, scheduleAt: null, cron: null, regulated: input.regulated === true, warnings: [],
      };
    },
    async startCampaign(c: Container, campaignId) {
      const campaign = await c.prisma.campaign.update({ where: { id: campaignId }, data: { status: 'running', startedAt: new Date() } });
      const run = await c.prisma.campaignRun.create({ data: { campaignId, runNumber: 1, status: 'running' } });
      const contacts = await c.prisma.contact.findMany({ where: { listId: campaign.listId } });
      await c.prisma.message.createMany({
        data: contacts.map((ct) => ({ runId: run.id, campaignId, contactId: ct.id, phone: ct.phone, status: 'queued' as const })),
      });
      return { campaignId, runId: run.id, status: campaign.status };
    },
    pauseCampaign: (c, id) => setStatus(c, id, 'paused'),
    resumeCampaign: (c, id) => setStatus(c, id, 'running'),
    cancelCampaign: (c, id) => setStatus(c, id, 'cancelled'),
    async retryCampaign(c: Container, campaignId, { includeUnknown, runId }) {
      const res = await c.prisma.message.updateMany({
        where: { campaignId, ...(runId ? { runId } : {}), status: { in: includeUnknown ? ['failed', 'unknown'] : ['failed'] } },
        data: { status: 'queued' },
      });
      const left = (status: 'failed' | 'unknown') => c.prisma.message.count({ where: { campaignId, ...(runId ? { runId } : {}), status } });
      const notRetried = { failed: await left('failed'), unknown: await left('unknown') };
      return { campaignId, requeued: res.count, status: res.count ? 'running' : 'completed', archiving: 0, notRetried };
    },
    async getCampaignStatus(c: Container, campaignId) {
      const campaign = await c.prisma.campaign.findUnique({ where: { id: campaignId } });
      if (!campaign) throw new NotFoundError(`campaign ${campaignId} not found`);
      return { campaignId, status: campaign.status, pauseReason: campaign.pauseReason, ...(await countsOf(c, campaignId)) };
    },
    async applyDeliveryCallback(c: Container, fields) {
      callbacks.push(fields);
      const res = await c.prisma.message.updateMany({
        where: { sessionId: fields.SessionId ?? '' },
        data: { status: fields.SmsStatus === 'DELIVERED' ? 'delivered' : 'failed' },
      });
      return { updated: res.count };
    },
  };
}
