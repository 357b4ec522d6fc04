/**
 * The SMS provider port, owned by its consumers (sending engine, delivery-report poller, campaign
 * checks). The 2Factor adapter implements it; tests may use the simulator or a scripted fake.
 */
import type { SendOutcome } from './outcome';

export type SmsModule = 'TRANS_SMS' | 'PROMO_SMS';

export interface SendRequest {
  module: SmsModule;
  /** One or more E.164 numbers; several numbers share one identical text (packing). */
  to: string[];
  /** DLT header / sender id. */
  from: string;
  /** Free text (must match a DLT template), or a 2Factor template name with ordered variables. */
  content: { kind: 'text'; text: string } | { kind: 'template'; name: string; vars: string[] };
  peid?: string;
  ctid?: string;
}

export type BalanceKind = 'TRANSACTIONAL_SMS' | 'PROMOTIONAL_SMS';

/** One recipient's row of a delivery report. */
export interface DeliveryReportEntry {
  phone: string;
  /** delivered / failed (final) or pending (not final yet). */
  state: 'delivered' | 'failed' | 'pending';
  statusDesc: string;
  /** Failure reason to store (null unless failed). */
  reason: string | null;
  statusId?: string;
  errorId?: string;
  /** True for DLT-CNT-REJECT: a template/sender problem that usually hits every message of the campaign. */
  dltReject: boolean;
}

export type DeliveryReport =
  | { found: true; entries: DeliveryReportEntry[] }
  /** `logStatus` not Valid, or the session is unknown yet: try again later. */
  | { found: false; detail: string };

/**
 * A `balance` or `deliveryReport` rejection the provider throttled (HTTP 429): such errors carry `throttled: true`
 * (the 2Factor adapter's TwoFactorError). The request was refused for the account's rate, not for what it asked.
 */
export function isThrottledError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { throttled?: unknown }).throttled === true;
}

export interface SmsProvider {
  /** `onWrite` runs right before the request is written to a connection (the pacer measures lateness there). */
  send(req: SendRequest, signal?: AbortSignal, onWrite?: () => void): Promise<SendOutcome>;
  balance(kind: BalanceKind, signal?: AbortSignal, onWrite?: () => void): Promise<number>;
  deliveryReport(sessionId: string, signal?: AbortSignal, onWrite?: () => void): Promise<DeliveryReport>;
  close(): Promise<void>;
}
