/**
 * A minimal 2Factor V1 SMS-OTP client implementing the OtpSender port:
 *   GET /API/V1/{key}/SMS/{phone}/AUTOGEN[/{template}]   → {"Status":"Success","Details":"<session>"}
 *   GET /API/V1/{key}/SMS/VERIFY/{session}/{otp}          → "OTP Matched" | HTTP 400 "OTP Mismatch" | "OTP Expired"
 * The key lives in the URL path, so URLs are never logged or put into error messages.
 */
import { request } from 'undici';
import { ServiceError } from '../errors';
import type { OtpSender, OtpVerdict } from './otp';

export interface TwoFactorOtpOptions {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
}

interface V1Body {
  Status?: string;
  Details?: string;
}

/** V1 OTP wants `91XXXXXXXXXX` (or 10 digits), not `+91…`. */
export function toV1Phone(phone: string): string {
  return phone.replace(/^\+/, '');
}

export function classifyVerify(status: number, body: V1Body): OtpVerdict | null {
  const details = (body.Details ?? '').toLowerCase();
  if (status === 200 && body.Status === 'Success' && details.includes('matched')) return 'matched';
  if (details.includes('mismatch')) return 'mismatch';
  if (details.includes('expired') || details.includes('invalid sessionid')) return 'expired';
  return null;
}

export function createTwoFactorOtpSender(opts: TwoFactorOtpOptions): OtpSender {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const key = encodeURIComponent(opts.apiKey);

  async function get(path: string, what: string): Promise<{ status: number; body: V1Body }> {
    try {
      const res = await request(`${base}/API/V1/${key}/${path}`, {
        method: 'GET',
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      });
      const text = await res.body.text();
      let body: V1Body = {};
      try {
        body = JSON.parse(text) as V1Body;
      } catch {
        body = { Details: text.slice(0, 200) };
      }
      return { status: res.statusCode, body };
    } catch (err) {
      throw new ServiceError(`2Factor OTP ${what}: provider unreachable (${(err as Error).name})`);
    }
  }

  return {
    async sendOtp(phone, template) {
      const suffix = template ? `/${encodeURIComponent(template)}` : '';
      const { status, body } = await get(`SMS/${encodeURIComponent(toV1Phone(phone))}/AUTOGEN${suffix}`, 'send');
      if (status !== 200 || body.Status !== 'Success' || !body.Details) {
        throw new ServiceError(`2Factor OTP send failed: HTTP ${status} ${body.Details ?? ''}`.trim());
      }
      return body.Details;
    },
    async verifyOtp(session, otp) {
      const { status, body } = await get(`SMS/VERIFY/${encodeURIComponent(session)}/${encodeURIComponent(otp)}`, 'verify');
      const verdict = classifyVerify(status, body);
      if (!verdict) throw new ServiceError(`2Factor OTP verify failed: HTTP ${status} ${body.Details ?? ''}`.trim());
      return verdict;
    },
  };
}
