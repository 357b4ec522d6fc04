/** SMS-OTP sessions of the simulator (AUTOGEN and custom codes), with expiry. */
import { randomInt, randomUUID } from 'node:crypto';

export type OtpCheck = 'matched' | 'mismatch' | 'expired' | 'invalid';

interface OtpSession {
  otp: string;
  expiresAt: number;
}

export class OtpStore {
  private sessions = new Map<string, OtpSession>();

  issue(now: number, ttlMs: number, otp: string = String(randomInt(0, 1_000_000)).padStart(6, '0')): string {
    const id = randomUUID();
    this.sessions.set(id, { otp, expiresAt: now + ttlMs });
    return id;
  }

  /** A matched code is consumed: verifying it again answers "expired" (the safe reading of one-time codes). */
  verify(id: string, otp: string, now: number): OtpCheck {
    const s = this.sessions.get(id);
    if (!s) return 'invalid';
    if (now >= s.expiresAt) {
      this.sessions.delete(id);
      return 'expired';
    }
    if (s.otp !== otp) return 'mismatch';
    this.sessions.set(id, { otp: s.otp, expiresAt: 0 });
    return 'matched';
  }

  live(now: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [id, s] of this.sessions) {
      if (now < s.expiresAt) out[id] = s.otp;
    }
    return out;
  }
}
