/**
 * An API server whose 2Factor is an in-process simulator, for one test file: started before its tests, closed after.
 * The API's own provider calls (OTP, the health probe) go to the simulator; read the three through the getters.
 */
import { createContainer, type Container } from '../../src/container';
import { createLogger } from '../../src/logger';
import { startSimulator, type RunningSimulator, type SimulatorInput } from '../../src/simulator/server';
import type { TestEnv } from './env';
import { stubServices } from './api-services';
import { startApi, type RunningApi } from './api-server';

/** Set before the file's first test runs. */
export interface ApiWithSimulator {
  sim: RunningSimulator;
  c: Container;
  api: RunningApi;
}

export function useApiWithSimulator(env: TestEnv, simulator: Omit<SimulatorInput, 'apiKey' | 'port'> = {}): ApiWithSimulator {
  const set = {} as Partial<ApiWithSimulator>;
  beforeAll(async () => {
    set.sim = await startSimulator({ ...simulator, apiKey: env.config.TWOFACTOR_API_KEY!, port: 0 });
    set.c = createContainer({ config: { ...env.config, TWOFACTOR_BASE_URL: set.sim.url }, logger: createLogger({ level: 'silent' }) });
    set.api = await startApi(set.c, stubServices(), { dashboard: false });
  });
  env.cleanup(async () => {
    await set.api?.close();
    await set.c?.close();
    await set.sim?.close();
  });
  return set as ApiWithSimulator;
}
