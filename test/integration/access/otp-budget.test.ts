/**
 * The API's own calls to 2Factor (an OTP, the health probe's balance) spend slots of the account-wide request
 * budget, like the workers' sends: with a campaign using the whole second, they wait for the next one instead of
 * being the request too many (the provider refused the OTP with 429).
 */
import { createToken } from '../../../src/access/tokens';
import { createContainer, type Container } from '../../../src/container';
import { createLogger } from '../../../src/logger';
import { createTwoFactorProvider } from '../../../src/provider/twofactor/client';
import { sendingKeys } from '../../../src/sending/keys';
import { createPacer } from '../../../src/sending/pacer';
import { startSimulator, type RunningSimulator } from '../../../src/simulator/server';
import { useTestEnv } from '../../helpers/env';
import { stubServices } from '../../helpers/api-services';
import { TEST_API_TOKEN, http, startApi, type RunningApi } from '../../helpers/api-server';
import { probeUntilProviderChecked, providerStatusOf } from '../../helpers/health';

const LIMIT = 5;
// What is under test is that these calls take slots of the shared budget, not how close to the limit the spacing
// runs: a guard of 60 ms (of the 200 ms between slots) absorbs the stalls of a loaded test machine, which at the
// default 12 ms let a delayed request and the next second's meet in one window at the simulator (CI: 6 in 1 s).
const env = useTestEnv({ API_TOKEN: TEST_API_TOKEN, SMS_RATE_LIMIT: String(LIMIT), SMS_RATE_GUARD_MS: '60' });
let sim: RunningSimulator;
let c: Container;
let api: RunningApi;

beforeAll(async () => {
  // Every V1 call (OTP, balance) counts against the limit, as at 2Factor.
  sim = await startSimulator({ apiKey: env.config.TWOFACTOR_API_KEY!, port: 0, rate: LIMIT, rateScope: 'all', latencyMs: [0, 0] });
  c = createContainer({ config: { ...env.config, TWOFACTOR_BASE_URL: sim.url }, logger: createLogger({ level: 'silent' }) });
  const provider = createTwoFactorProvider({ baseUrl: sim.url, apiKey: env.config.TWOFACTOR_API_KEY!, timeoutMs: 5000, connections: 2, logger: c.logger });
  api = await startApi(c, stubServices(), { dashboard: false, providerCheckCacheMs: 0 }, provider);
});

env.cleanup(async () => {
  await api?.close();
  await c?.close();
  await sim?.close();
});

/** A worker using the whole second of the budget, through the same pacer. */
async function useTheWholeSecond(): Promise<void> {
  const pacer = createPacer(c.redis, { key: sendingKeys(env.config.QUEUE_PREFIX).pacer, limit: LIMIT, guardMs: env.config.SMS_RATE_GUARD_MS });
  const client = createTwoFactorProvider({ baseUrl: sim.url, apiKey: env.config.TWOFACTOR_API_KEY!, timeoutMs: 5000, connections: 2, logger: c.logger });
  try {
    for (let i = 0; i < LIMIT; i++) {
      const admission = await pacer.admit();
      // As the worker does: judged where the request is really written (a new connection's set-up delays it).
      await client.send({ module: 'TRANS_SMS', to: ['+919876543210'], from: 'ACMEIN', content: { kind: 'text', text: `m${i}` } }, undefined, () =>
        pacer.dispatched(admission),
      );
    }
  } finally {
    await client.close();
  }
}

it('an OTP asked for while the budget is spent waits for a slot and is sent', async () => {
  const owner = (await createToken(c, { role: 'owner', phone: '+919876543210' })).token;
  await useTheWholeSecond();
  const res = await http('POST', `${api.url}/api/access/otp`, { token: owner });
  expect(res.status).toBe(200);
  expect(sim.stats()).toMatchObject({ maxWindow: LIMIT, throttled: 0 });
});

it('the health probe’s balance call waits for a slot too', async () => {
  await new Promise((r) => setTimeout(r, 1100)); // the previous test's second is over
  await useTheWholeSecond();
  // This probe's slot may come after the probe's 1 s wait: a later probe has the check's result.
  const res = await probeUntilProviderChecked(() => http('GET', `${api.url}/health`), providerStatusOf);
  expect(providerStatusOf(res)).toBe('ok');
  expect(sim.stats()).toMatchObject({ maxWindow: LIMIT, throttled: 0 });
});
