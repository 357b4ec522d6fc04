/**
 * RPT/TSMS delivery report (XML `<smsLog>`, one `<sms>` per recipient) → DeliveryReport. Pure.
 * Status words are judged by the same mapper as pushed reports (./delivery-status.ts): with a list of its own,
 * this path left `DELIVRD`, `UNDELIV` and `REJECTD` pending for good while the webhook finished them.
 * An empty status means "operator report not in yet".
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { DeliveryReport, DeliveryReportEntry } from '../sms-provider';
import { mapDeliveryStatus } from './delivery-status';

const parser = new XMLParser({
  ignoreAttributes: true,
  // Keep everything as text: phone numbers and ids must not become numbers.
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => name === 'sms',
});

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
  const mapped = mapDeliveryStatus({ status: statusDesc, statusId, errorId });
  const entry: DeliveryReportEntry = {
    phone: toE164(text(meta.smsTo)),
    state: mapped.state,
    statusDesc,
    reason: mapped.reason,
    dltReject: mapped.dltReject,
  };
  if (statusId) entry.statusId = statusId;
  if (errorId) entry.errorId = errorId;
  return entry;
}

/**
 * A bare `&` (a message text like "T&C apply" written into `<msg>` unescaped) made the whole report unreadable
 * until it aged out; it can only mean a literal ampersand, so it is escaped before parsing. Entities stay as they are.
 */
const BARE_AMPERSAND = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g;

export function parseDeliveryReport(raw: string): DeliveryReport {
  const xml = raw.replace(BARE_AMPERSAND, '&amp;');
  if (XMLValidator.validate(xml) !== true) return { found: false, detail: 'delivery report is not well-formed XML' };
  const doc = asNode(parser.parse(xml));
  if (!('smsLog' in doc)) return { found: false, detail: 'delivery report has no <smsLog> element' };
  const log = asNode(doc.smsLog);
  const logStatus = text(log.logStatus).trim();
  if (logStatus.toLowerCase() !== 'valid') return { found: false, detail: `logStatus is "${logStatus.slice(0, 40)}"` };
  const rows = Array.isArray(log.sms) ? log.sms : [];
  return { found: true, entries: rows.map(toEntry) };
}
