/**
 * The API's own provider calls (the OTP second factor, the health probe's balance) take slots of the account-wide
 * budget like the workers' sends, and a 429 for one slows the whole fleet through the shared pacer as a throttled send
 * does: these requests spend the same limit at the provider, and one refused for it says the fleet goes too fast.
 */
import { createToken } from '../../../src/access/tokens';
import { createTwoFactorProviderFromConfig } from '../../../src/provider/twofactor/client';
import { sendingKeys } from '../../../src/sending/keys';
import { useTestEnv } from '../../helpers/env';
import { stubServices } from '../../helpers/api-services';
import { TEST_API_TOKEN, http, startApi } from '../../helpers/api-server';
import { useApiWithSimulator } from '../../helpers/api-with-simulator';

const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN });
const s = useApiWithSimulator(env, { rate: 1, rateScope: 'all' });

const pacerState = async (): Promise<Record<string, string>> => s.c.redis.hgetall(sendingKeys(env.config.QUEUE_PREFIX).pacer);

it('an OTP request the provider throttles slows the shared pacer', async () => {
  const { token } = await createToken(s.c, { role: 'owner', phone: '+919876543215' });
  const first = await http('POST', `${s.api.url}/api/access/otp`, { token });
  const second = await http('POST', `${s.api.url}/api/access/otp`, { token });
  expect([first.status, second.status === 200]).toEqual([200, false]);
  expect(s.sim.stats().throttled).toBe(1);
  const pacer = await pacerState();
  expect(Number(pacer.heat)).toBeGreaterThan(0);
  expect(Number(pacer.pt)).toBeGreaterThan(0);
});

it("the health probe's throttled balance check slows it too", async () => {
  const provider = createTwoFactorProviderFromConfig(s.c, { connections: 1 });
  const probing = await startApi(s.c, stubServices(), { dashboard: false, providerCheckCacheMs: 0 }, provider);
  try {
    await s.c.redis.del(sendingKeys(env.config.QUEUE_PREFIX).pacer);
    await new Promise((r) => setTimeout(r, 1_100)); // the provider's second has passed
    const throttledBefore = s.sim.stats().throttled;
    // Two calls within the provider's second: the probe's balance lookup is the second one.
    await http('POST', `${s.api.url}/api/access/otp`, { token: (await createToken(s.c, { role: 'owner', phone: '+919876543216' })).token });
    await http('GET', `${probing.url}/health`, { token: null });
    // The probe may answer before its check does (it waits at most 1 s for it); the check goes on.
    for (let i = 0; i < 50 && s.sim.stats().throttled === throttledBefore; i++) await new Promise((r) => setTimeout(r, 100));
    expect(s.sim.stats().throttled).toBe(throttledBefore + 1);
    for (let i = 0; i < 20 && !(await pacerState()).heat; i++) await new Promise((r) => setTimeout(r, 50));
    expect(Number((await pacerState()).heat)).toBeGreaterThan(0);
  } finally {
    await probing.close();
    await provider.close();
  }
});
