/**
 * RPT/TSMS delivery report (XML `<smsLog>`, one `<sms>` per recipient) → DeliveryReport. Pure.
 * Status words from reference §5: DELIVERED and DLT-CNT-REJECT are observed; the other final/pending words
 * are handled by other clients but unproven, and an empty status means "operator report not in yet".
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { DeliveryReport, DeliveryReportEntry } from '../sms-provider';

const FAILED = new Set(['FAILED', 'REJECTED', 'UNDELIVERED', 'UNDELIVERABLE', 'EXPIRED', 'DELETED', 'DLT-CNT-REJECT']);
const PENDING = new Set(['', 'PENDING', 'QUEUED', 'ACCEPTED', 'ACCEPTD', 'SENT', 'SUBMITTED']);

const parser = new XMLParser({
  ignoreAttributes: true,
  // Keep everything as text: phone numbers and ids must not become numbers.
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => name === 'sms',
});

export function deliveryState(statusDesc: string, errorId?: string): DeliveryReportEntry['state'] {
  const word = statusDesc.trim().toUpperCase();
  if (word === 'DELIVERED') return 'delivered';
  if (FAILED.has(word)) return 'failed';
  if (PENDING.has(word)) return 'pending';
  // An unknown word: trust a non-zero error id (as GRCCAB does), otherwise keep polling.
  return errorId && errorId !== '0' && errorId.toUpperCase() !== 'NA' ? 'failed' : 'pending';
}

/** 2Factor writes numbers as `91XXXXXXXXXX` (sometimes bare 10 digits); the product stores E.164. */
export function toE164(smsTo: string): string {
  const digits = smsTo.trim();
  if (digits.startsWith('+')) return digits;
  if (/^\d{10}$/.test(digits)) return `+91${digits}`;
  if (/^91\d{10}$/.test(digits)) return `+${digits}`;
  return digits;
}

type Node = Record<string, unknown>;
const asNode = (v: unknown): Node => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : {});
const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

function toEntry(sms: unknown): DeliveryReportEntry {
  const row = asNode(sms);
  const meta = asNode(row.smsMeta);
  const status = asNode(row.smsStatus);
  const error = asNode(row.smsError);
  const statusDesc = text(status.statusDesc).trim();
  const statusId = text(status.statusId);
  const errorId = text(error.errorId);
  const entry: DeliveryReportEntry = {
    phone: toE164(text(meta.smsTo)),
    state: deliveryState(statusDesc, errorId),
    statusDesc,
    dltReject: statusDesc.toUpperCase() === 'DLT-CNT-REJECT',
  };
  if (statusId) entry.statusId = statusId;
  if (errorId) entry.errorId = errorId;
  return entry;
}

export function parseDeliveryReport(xml: string): DeliveryReport {
  if (XMLValidator.validate(xml) !== true) return { found: false, detail: 'delivery report is not well-formed XML' };
  const doc = asNode(parser.parse(xml));
  if (!('smsLog' in doc)) return { found: false, detail: 'delivery report has no <smsLog> element' };
  const log = asNode(doc.smsLog);
  const logStatus = text(log.logStatus).trim();
  if (logStatus.toLowerCase() !== 'valid') return { found: false, detail: `logStatus is "${logStatus.slice(0, 40)}"` };
  const rows = Array.isArray(log.sms) ? log.sms : [];
  return { found: true, entries: rows.map(toEntry) };
}
