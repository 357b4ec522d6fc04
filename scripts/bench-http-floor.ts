/**
 * `npm run bench:http-floor -- [--rate 2000] [--duration 20]`
 * The floor under bench:send's CPU per message: the 2Factor client alone (form encoding, one keep-alive
 * HTTP POST, answer parsing and classification), paced by a plain timer, against the simulator in its own
 * process — no Redis, no PostgreSQL, no BullMQ. Prints the client's CPU per request (user and system) and
 * the simulator's, so the sending engine's own cost can be read as bench:send minus this.
 */
import { readFileSync } from 'node:fs';
import { TwoFactorClient } from '../src/provider/twofactor/client';
import { createLogger } from '../src/logger';
import { startSimulatorProcess } from './lib/simulator-process';
import { readFlags } from './lib/flags';
import { processCpuSeconds } from './lib/proc-cpu';

const flags = readFlags();
const flag = flags.value;
const rate = Number(flag('rate', '2000'));
const duration = Number(flag('duration', '20'));
const API_KEY = 'bench-key-0000-1111-2222-333344445555';

const procCpuSeconds = (pid: number): number => processCpuSeconds(pid) ?? 0;

async function main(): Promise<void> {
  const sim = await startSimulatorProcess(API_KEY, ['--rate', '0', '--latency', '50-150']);
  try {
    await sim.configure({ rate: null, latencyMs: [50, 150] });
    const client = new TwoFactorClient({
      baseUrl: sim.url,
      apiKey: API_KEY,
      timeoutMs: 5000,
      connections: Math.ceil((rate * 150 * 1.5) / 1000) + 20,
      logger: createLogger({ level: 'warn', secrets: [API_KEY] }),
    });
    const total = rate * duration;
    // Warm-up: connections and code paths, not measured.
    await Promise.all(Array.from({ length: 200 }, (_, i) => client.send({ module: 'TRANS_SMS', to: [`98765${String(i).padStart(5, '0')}`], from: 'BLKSMS', content: { kind: 'text', text: 'warm-up' } })));
    await sim.reset();
    const simCpu0 = procCpuSeconds(sim.pid);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const pending: Promise<unknown>[] = [];
    let sent = 0;
    let accepted = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
        for (; sent < due; sent++) {
          const to = `9${String(100000000 + sent).padStart(9, '0')}`;
          pending.push(client.send({ module: 'TRANS_SMS', to: [to], from: 'BLKSMS', content: { kind: 'text', text: `Your code is ${sent}` } }).then((o) => void (o.kind === 'accepted' && accepted++)));
        }
        if (sent < total) setTimeout(tick, 1);
        else resolve();
      };
      tick();
    });
    await Promise.all(pending);
    const wallS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const simCpu = procCpuSeconds(sim.pid) - simCpu0;
    console.log(
      JSON.stringify({
        scenario: `2Factor client alone, ${rate} rps for ${duration} s`,
        requests: total,
        accepted,
        achievedRps: Math.round(total / wallS),
        clientCpuMicrosecondsPerRequest: {
          total: Number(((cpu.user + cpu.system) / total).toFixed(1)),
          user: Number((cpu.user / total).toFixed(1)),
          system: Number((cpu.system / total).toFixed(1)),
        },
        simulatorCpuMicrosecondsPerRequest: Number(((simCpu / total) * 1e6).toFixed(1)),
        loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
      }),
    );
    await client.close();
  } finally {
    await sim.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
