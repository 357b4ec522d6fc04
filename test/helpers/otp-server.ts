/**
 * A tiny real HTTP server speaking 2Factor's two V1 SMS-OTP endpoints (AUTOGEN and VERIFY), used until
 * the provider team's simulator with OTP support is on main. It exposes the OTPs it generated so tests
 * can complete the flow, and a configurable OTP lifetime to exercise "OTP Expired".
 */
import { randomInt, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface IssuedOtp {
  session: string;
  phone: string;
  otp: string;
  template: string | null;
  issuedAt: number;
  verified: boolean;
}

export interface OtpServer {
  url: string;
  apiKey: string;
  issued: IssuedOtp[];
  /** The last OTP sent to a phone (V1 form, e.g. 919876543210). */
  lastOtp(phone?: string): IssuedOtp | undefined;
  setTtlMs(ms: number): void;
  requests: number;
  close(): Promise<void>;
}

export async function startOtpServer(opts: { apiKey: string; ttlMs?: number }): Promise<OtpServer> {
  let ttlMs = opts.ttlMs ?? 180_000;
  const issued: IssuedOtp[] = [];
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    state.requests++;
    const reply = (status: number, Status: string, Details: string) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ Status, Details }));
    };
    const parts = (req.url ?? '').split('?')[0]!.split('/').map(decodeURIComponent);
    // ['', 'API', 'V1', key, 'SMS', ...]
    if (req.method !== 'GET' || parts[1] !== 'API' || parts[2] !== 'V1' || parts[4] !== 'SMS') {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html>Not Found</html>');
      return;
    }
    if (parts[3] !== opts.apiKey) return reply(200, 'Error', 'Invalid API Key - No Account Exists');
    if (parts[5] === 'VERIFY') {
      const entry = issued.find((o) => o.session === parts[6]);
      if (!entry) return reply(200, 'Error', 'Invalid SessionId');
      if (entry.verified || Date.now() - entry.issuedAt > ttlMs) return reply(200, 'Error', 'OTP Expired');
      if (entry.otp !== parts[7]) return reply(400, 'Error', 'OTP Mismatch');
      entry.verified = true;
      return reply(200, 'Success', 'OTP Matched');
    }
    if (parts[6] === 'AUTOGEN' && /^(91)?\d{10}$/.test(parts[5] ?? '')) {
      const entry: IssuedOtp = {
        session: randomUUID(),
        phone: parts[5]!,
        otp: String(randomInt(100_000, 1_000_000)),
        template: parts[7] ?? null,
        issuedAt: Date.now(),
        verified: false,
      };
      issued.push(entry);
      return reply(200, 'Success', entry.session);
    }
    return reply(400, 'Error', 'Invalid Phone Number - Length Mismatch(Expected: 10)');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    apiKey: opts.apiKey,
    issued,
    lastOtp: (phone) => [...issued].reverse().find((o) => !phone || o.phone === phone),
    setTtlMs: (ms) => {
      ttlMs = ms;
    },
    get requests() {
      return state.requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
