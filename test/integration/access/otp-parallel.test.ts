/** The OTP SMS budget (5 per token per 10 minutes) holds against requests sent in parallel; wrong codes are bounded per day. */
import { createToken } from '../../../src/access/tokens';
import { randomUUID } from 'node:crypto';
import { MAX_CHALLENGES, MAX_FAILED_PER_WINDOW, requestOtp, verifyOtp } from '../../../src/access/otp';
import type { AppError } from '../../../src/errors';
import { useTestEnv } from '../../helpers/env';
import { TEST_API_TOKEN, http } from '../../helpers/api-server';
import { useApiWithSimulator } from '../../helpers/api-with-simulator';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });
const s = useApiWithSimulator(env, { latencyMs: [20, 60] });

it('twenty parallel OTP requests send exactly the budget; the rest are 429', async () => {
  const { token, tokenId } = await createToken(s.c, { role: 'owner', phone: '+919876543211' });
  const before = Object.keys(s.sim.stats().otps).length;
  const answers = await Promise.all(Array.from({ length: 20 }, () => http('POST', `${s.api.url}/api/access/otp`, { token })));
  expect(answers.filter((r) => r.status === 200)).toHaveLength(MAX_CHALLENGES);
  expect(answers.filter((r) => r.status === 429)).toHaveLength(20 - MAX_CHALLENGES);
  expect(Object.keys(s.sim.stats().otps).length - before).toBe(MAX_CHALLENGES);
  expect(await s.c.prisma.otpGrant.count({ where: { tokenId } })).toBe(MAX_CHALLENGES);
}, 60_000);

it('the SMS is sent outside the lock: parallel sends overlap, and every one sent has its challenge recorded', async () => {
  const { tokenId } = await createToken(s.c, { role: 'owner', phone: '+919876543212' });
  let inFlight = 0;
  let maxInFlight = 0;
  let sent = 0;
  // A slow provider: under the lock (inside the transaction) a send outlasting it was paid for and never recorded.
  const otp = {
    sendOtp: async () => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 400));
      inFlight--;
      return `session-${++sent}-${Date.now()}`;
    },
    verifyOtp: async () => 'mismatch' as const,
  };
  const deps = { prisma: s.c.prisma, config: env.config, otp };
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => requestOtp(deps, { tokenId, role: 'owner' })));
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(MAX_CHALLENGES);
  expect(sent).toBe(MAX_CHALLENGES);
  expect(maxInFlight).toBeGreaterThan(1);
  const rows = await s.c.prisma.otpGrant.findMany({ where: { tokenId } });
  expect(rows.filter((r) => r.sessionId.startsWith('session-'))).toHaveLength(MAX_CHALLENGES);
}, 60_000);

it('a token that got 20 codes wrong within a day cannot verify even the right one: guessing across challenges is bounded', async () => {
  const { tokenId } = await createToken(s.c, { role: 'owner', phone: '+919876543213' });
  const RIGHT = '482913';
  const otp = {
    sendOtp: async () => `session-${randomUUID()}`,
    verifyOtp: async (_session: string, code: string) => (code === RIGHT ? ('matched' as const) : ('mismatch' as const)),
  };
  const deps = { prisma: s.c.prisma, config: env.config, otp };
  const who = { tokenId, role: 'owner' as const };
  const guess = async (challengeId: string, code: string) =>
    verifyOtp(deps, who, { challengeId, otp: code }, '127.0.0.1').then(
      () => 'verified',
      (err: AppError) => err.code,
    );
  // One mistype, then the right code: a verified challenge's last attempt is no failure.
  const first = await requestOtp(deps, who);
  expect([await guess(first.challengeId, '000001'), await guess(first.challengeId, RIGHT)]).toEqual(['otp_mismatch', 'verified']);
  // 19 more wrong codes over three more challenges (5 attempts each, then burnt) and a fourth.
  const wrong: string[] = [];
  for (const attempts of [5, 5, 5, 4]) {
    const { challengeId } = await requestOtp(deps, who);
    for (let i = 0; i < attempts; i++) wrong.push(await guess(challengeId, String(100000 + wrong.length)));
    if (attempts === 4) {
      expect(await guess(challengeId, RIGHT)).toBe('otp_rate_limited');
      expect(wrong.length + 1).toBe(MAX_FAILED_PER_WINDOW);
    }
  }
  expect(wrong).toEqual(Array.from({ length: MAX_FAILED_PER_WINDOW - 1 }, () => 'otp_mismatch'));
  expect(await s.c.prisma.auditLog.count({ where: { tokenId, action: 'otp.verify.locked' } })).toBe(1);
});

it('a verification the provider never answered does not count: an outage cannot use up the owner\'s attempts', async () => {
  const { tokenId } = await createToken(s.c, { role: 'owner', phone: '+919876543214' });
  const RIGHT = '551234';
  let down = true;
  const otp = {
    sendOtp: async () => `session-${randomUUID()}`,
    verifyOtp: async (_session: string, code: string) => {
      if (down) throw new Error('2Factor unreachable: connect ECONNREFUSED');
      return code === RIGHT ? ('matched' as const) : ('mismatch' as const);
    },
  };
  const deps = { prisma: s.c.prisma, config: env.config, otp };
  const who = { tokenId, role: 'owner' as const };
  const { challengeId } = await requestOtp(deps, who);
  // More tries during the outage than a challenge's attempts and the day's budget together.
  for (let i = 0; i < MAX_FAILED_PER_WINDOW + 1; i++) {
    await expect(verifyOtp(deps, who, { challengeId, otp: RIGHT }, '127.0.0.1')).rejects.toThrow(/unreachable/);
  }
  expect((await s.c.prisma.otpGrant.findUniqueOrThrow({ where: { id: challengeId } })).attempts).toBe(0);
  down = false;
  await expect(verifyOtp(deps, who, { challengeId, otp: RIGHT }, '127.0.0.1')).resolves.toMatchObject({ challengeId });
});
