/**
 * Delivery-report status mapping (pure), shared by the pull poller and the push webhook.
 * statusDesc / SmsStatus values: reference §5 (`DELIVERED` and `DLT-CNT-REJECT` observed; the rest handled by
 * public clients). Anything unrecognised is treated as not final unless the platform says the error is permanent.
 */
export type DeliveryState = 'delivered' | 'failed' | 'pending';

export interface MappedStatus {
  state: DeliveryState;
  /** Failure reason stored on the message (null unless failed). */
  reason: string | null;
  /** Template/sender rejected by the operator's DLT scrubbing: usually hits every message of the campaign. */
  dltReject: boolean;
}

const FINAL_FAILURES = new Set(['FAILED', 'REJECTED', 'UNDELIVERED', 'UNDELIVERABLE', 'EXPIRED', 'DELETED', 'UNDELIV', 'REJECTD']);
const PENDING = new Set(['PENDING', 'QUEUED', 'ACCEPTED', 'ACCEPTD', 'SENT', 'SUBMITTED', 'ENROUTE', '']);

export interface StatusFields {
  status: string;
  statusId?: string;
  errorId?: string;
  errorName?: string;
  errorDescription?: string;
  errorPermanent?: string;
}

const norm = (s: string | undefined): string => (s ?? '').trim().toUpperCase();

export function isDltReject(f: StatusFields): boolean {
  return [f.status, f.errorName].some((v) => norm(v).replace(/_/g, '-').includes('DLT-CNT-REJECT'));
}

function reasonOf(f: StatusFields): string {
  const extra = [f.errorName, f.errorDescription].filter((v) => v && v.trim() && norm(v) !== 'NO_ERROR');
  const id = f.errorId && f.errorId !== '0' ? ` #${f.errorId}` : '';
  return `${norm(f.status) || 'FAILED'}${id}${extra.length ? `: ${extra.join(' - ')}` : ''}`.slice(0, 500);
}

export function mapDeliveryStatus(f: StatusFields): MappedStatus {
  const status = norm(f.status);
  if (isDltReject(f)) return { state: 'failed', reason: reasonOf({ ...f, status: 'DLT-CNT-REJECT' }), dltReject: true };
  if (status === 'DELIVERED' || status === 'DELIVRD') return { state: 'delivered', reason: null, dltReject: false };
  if (FINAL_FAILURES.has(status) || norm(f.errorPermanent) === 'TRUE') return { state: 'failed', reason: reasonOf(f), dltReject: false };
  if (PENDING.has(status)) return { state: 'pending', reason: null, dltReject: false };
  // Unknown word: a final failure only if the platform flags a non-zero error.
  const errorId = (f.errorId ?? '').trim();
  if (errorId && errorId !== '0' && norm(errorId) !== 'NA') return { state: 'failed', reason: reasonOf(f), dltReject: false };
  return { state: 'pending', reason: null, dltReject: false };
}

/** Digits of a phone number; two numbers match when equal, or equal in their last 10 digits (91XXXXXXXXXX vs +91XXXXXXXXXX vs XXXXXXXXXX). */
export function samePhone(a: string, b: string): boolean {
  const da = a.replace(/\D/g, '');
  const db = b.replace(/\D/g, '');
  if (da === db) return da.length > 0;
  return da.length >= 10 && db.length >= 10 && da.slice(-10) === db.slice(-10);
}
