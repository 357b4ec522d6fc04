/**
 * The provider team's 2Factor simulator, set up for sending-engine tests: an accepted-recipients log to check
 * per-number duplicates and gaps, and a client pointed at it.
 */
import { readFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startSimulator, type RunningSimulator, type SimulatorInput } from '../../src/simulator/server';
import { createTwoFactorProvider } from '../../src/provider/twofactor/client';
import { createLogger } from '../../src/logger';
import type { SmsProvider } from '../../src/provider/sms-provider';

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
    async accepted() {
      // The log is written asynchronously: wait until it holds every accepted recipient.
      const expected = sim.stats().acceptedRecipients;
      for (let i = 0; ; i++) {
        const text = await readFile(logPath, 'utf8').catch(() => '');
        const lines = text.split('\n').filter(Boolean);
        if (lines.length >= expected || i > 50) {
          const counts = new Map<string, number>();
          for (const line of lines) {
            const to = `+${(JSON.parse(line) as { to: string }).to}`;
            counts.set(to, (counts.get(to) ?? 0) + 1);
          }
          return counts;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
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
