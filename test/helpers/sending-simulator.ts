/**
 * The provider team's 2Factor simulator, set up for sending-engine tests: an accepted-recipients log to check
 * per-number duplicates and gaps, and a client pointed at it.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, type RunningSimulator, type SimulatorInput } from '../../src/simulator/server';
import { createTwoFactorProvider } from '../../src/provider/twofactor/client';
import { createLogger } from '../../src/logger';
import type { SmsProvider } from '../../src/provider/sms-provider';
import { readAcceptedLog } from './accepted-log';

export interface TestSimulator {
  sim: RunningSimulator;
  /** Accepted count per number (as stored in `messages.phone`, i.e. with the leading +). */
  accepted(): Promise<Map<string, number>>;
  provider(opts?: { timeoutMs?: number; connections?: number; baseUrl?: string }): SmsProvider;
  close(): Promise<void>;
}

export async function startTestSimulator(input: Omit<SimulatorInput, 'logPath'>): Promise<TestSimulator> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-sim-'));
  const logPath = path.join(dir, 'accepted.jsonl');
  const sim = await startSimulator({ ...input, logPath });
  const providers: SmsProvider[] = [];
  return {
    sim,
    accepted: () => readAcceptedLog(logPath, sim.stats().acceptedRecipients),
    provider(opts = {}) {
      const p = createTwoFactorProvider({
        baseUrl: opts.baseUrl ?? sim.url,
        apiKey: input.apiKey,
        timeoutMs: opts.timeoutMs ?? 10_000,
        connections: opts.connections ?? 100,
        logger: createLogger({ level: 'silent' }),
      });
      providers.push(p);
      return p;
    },
    async close() {
      for (const p of providers) await p.close().catch(() => undefined);
      await sim.close();
    },
  };
}
