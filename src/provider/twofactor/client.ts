/**
 * The 2Factor adapter of the SmsProvider port (plus the OTP calls access control needs).
 * Sends go to R1 (`POST /API/R1/`, form-encoded, key in the body); balances, delivery reports and OTP use V1
 * (key in the path). The key is never logged and is scrubbed from every detail and error this class emits.
 */
import type { Config } from '../../config';
import type { Logger } from '../../logger';
import { scrubString } from '../../logger';
import { ValidationError } from '../../errors';
import type { FailureOutcome, SendOutcome } from '../outcome';
import type { BalanceKind, DeliveryReport, SendRequest, SmsProvider } from '../sms-provider';
import { classifySendResponse, classifyTransportFailure } from './classify';
import { classifyDetails } from './details';
import { parseDeliveryReport } from './dlr';
import { parseEnvelope } from './envelope';
import { TwoFactorError } from './errors';
import { buildSendForm, toProviderNumber } from './form';
import { HttpTransport, type HttpResponse } from './http';

export interface TwoFactorProviderOptions {
  baseUrl: string;
  apiKey: string;
  /** Per-request budget (ms), waiting for a pooled connection included. */
  timeoutMs: number;
  /** Keep-alive connections in the pool: size it to the send concurrency. */
  connections: number;
  logger: Logger;
}

export type OtpVerification = 'matched' | 'mismatch' | 'expired';

export class TwoFactorClient implements SmsProvider {
  private readonly http: HttpTransport;
  private readonly logger: Logger;
  private readonly apiKey: string;

  constructor(opts: TwoFactorProviderOptions) {
    if (!opts.apiKey) throw new ValidationError('TWOFACTOR_API_KEY is not set', 'TWOFACTOR_API_KEY');
    if (!Number.isInteger(opts.connections) || opts.connections < 1) throw new ValidationError('connections must be a positive integer', 'connections');
    if (!(opts.timeoutMs > 0)) throw new ValidationError('timeoutMs must be positive', 'timeoutMs');
    this.apiKey = opts.apiKey;
    this.http = new HttpTransport({ baseUrl: opts.baseUrl, timeoutMs: opts.timeoutMs, connections: opts.connections });
    this.logger = opts.logger.child({ component: 'twofactor' });
  }

  /**
   * One R1 request for all of `req.to` (identical text). The outcome covers the whole request: 2Factor
   * reports no per-number result, so a `permanent_recipient` on a multi-number request does not say which
   * number is bad; callers should re-send such a pack one number at a time.
   */
  async send(req: SendRequest, signal?: AbortSignal, onWrite?: () => void): Promise<SendOutcome> {
    if (req.to.length === 0) throw new ValidationError('a send needs at least one recipient', 'to');
    const body = buildSendForm(req, this.apiKey).toString();
    const result = await this.http.request({
      method: 'POST',
      path: '/API/R1/',
      body,
      contentType: 'application/x-www-form-urlencoded; charset=utf-8',
      signal,
      onWrite,
    });
    const raw = result.ok ? classifySendResponse(result.response) : classifyTransportFailure(result.failure);
    const outcome: SendOutcome = raw.kind === 'accepted' ? raw : { ...raw, detail: this.scrub(raw.detail) };
    if (outcome.kind === 'permanent_campaign' && result.ok && !classifyDetails(outcome.detail).known) {
      this.logger.warn({ detail: outcome.detail }, 'unknown 2Factor error text: treated as permanent for the campaign');
    }
    this.logger.debug(
      { module: req.module, recipients: req.to.length, outcome: outcome.kind, httpStatus: result.ok ? result.response.status : undefined },
      '2Factor send',
    );
    return outcome;
  }

  async balance(kind: BalanceKind, signal?: AbortSignal, onWrite?: () => void): Promise<number> {
    const res = await this.getV1('balance', `ADDON_SERVICES/BAL/${kind}`, signal, onWrite);
    const details = this.expectSuccess('balance', res);
    const credits = Number(details);
    if (!Number.isFinite(credits)) throw this.fail('balance', { kind: 'ambiguous', detail: 'balance is not a number' });
    return credits;
  }

  async deliveryReport(sessionId: string, signal?: AbortSignal, onWrite?: () => void): Promise<DeliveryReport> {
    const res = await this.getV1('delivery report', `ADDON_SERVICES/RPT/TSMS/${encodeURIComponent(sessionId)}`, signal, onWrite);
    // Errors (bad key, ...) come as the JSON envelope; reports come as XML.
    if (parseEnvelope(res.body) || res.status !== 200) this.expectSuccess('delivery report', res);
    return parseDeliveryReport(res.body);
  }

  /** SMS-OTP with a 2Factor-generated code (`AUTOGEN`); returns the session id to verify against. */
  async sendOtp(phone: string, template?: string, signal?: AbortSignal, onWrite?: () => void): Promise<string> {
    const suffix = template ? `/${encodeURIComponent(template)}` : '';
    const res = await this.getV1('OTP send', `SMS/${encodeURIComponent(toProviderNumber(phone))}/AUTOGEN${suffix}`, signal, onWrite);
    return this.expectSuccess('OTP send', res);
  }

  async verifyOtp(sessionId: string, otp: string, signal?: AbortSignal, onWrite?: () => void): Promise<OtpVerification> {
    const res = await this.getV1('OTP verify', `SMS/VERIFY/${encodeURIComponent(sessionId)}/${encodeURIComponent(otp)}`, signal, onWrite);
    const envelope = parseEnvelope(res.body);
    if (envelope?.status === 'Error') {
      // "OTP Mismatch" arrives as HTTP 400; one client saw "OTP MisMatch".
      if (/mismatch/i.test(envelope.details)) return 'mismatch';
      // A used, timed-out or unknown session: the user has to ask for a new code either way.
      if (/expired|invalid session/i.test(envelope.details)) return 'expired';
    }
    this.expectSuccess('OTP verify', res);
    return 'matched';
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private async getV1(operation: string, rest: string, signal?: AbortSignal, onWrite?: () => void): Promise<HttpResponse> {
    const result = await this.http.request({ method: 'GET', path: `/API/V1/${encodeURIComponent(this.apiKey)}/${rest}`, signal, onWrite });
    if (!result.ok) throw this.fail(operation, classifyTransportFailure(result.failure));
    return result.response;
  }

  /** `Details` of a Success envelope, or a TwoFactorError classified like a send outcome. */
  private expectSuccess(operation: string, res: HttpResponse): string {
    const outcome = classifySendResponse(res);
    if (outcome.kind === 'accepted') return outcome.sessionId;
    throw this.fail(operation, outcome);
  }

  private fail(operation: string, outcome: FailureOutcome): TwoFactorError {
    const err = new TwoFactorError(operation, { ...outcome, detail: this.scrub(outcome.detail) });
    this.logger.debug({ operation, kind: err.kind, httpStatus: err.providerStatus, detail: err.detail }, '2Factor call failed');
    return err;
  }

  private scrub(text: string): string {
    return scrubString(text, [this.apiKey]);
  }
}

/** Composition-root factory (see /work/briefs/interfaces.md). */
export function createTwoFactorProvider(opts: TwoFactorProviderOptions): TwoFactorClient {
  return new TwoFactorClient(opts);
}

/**
 * The provider as configured by the environment (TWOFACTOR_BASE_URL, TWOFACTOR_API_KEY, SMS_REQUEST_TIMEOUT_MS).
 * `connections` should match the send concurrency of the process (default 32).
 */
export function createTwoFactorProviderFromConfig(
  deps: { config: Config; logger: Logger },
  opts: { connections?: number } = {},
): TwoFactorClient {
  const { config, logger } = deps;
  if (!config.TWOFACTOR_API_KEY) throw new ValidationError('TWOFACTOR_API_KEY is not set', 'TWOFACTOR_API_KEY');
  return createTwoFactorProvider({
    baseUrl: config.TWOFACTOR_BASE_URL,
    apiKey: config.TWOFACTOR_API_KEY,
    timeoutMs: config.SMS_REQUEST_TIMEOUT_MS,
    connections: opts.connections ?? 32,
    logger,
  });
}
