/**
 * Makes one loopback TCP connection go silent both ways, as a lost host's does (power, partition, frozen VM): every
 * packet of it is dropped by an nftables table of its own, so no FIN, no RST and no answer to a keep-alive probe.
 * A silent relay in our process cannot stand in for this: its kernel still acknowledges the server's probes, so the
 * server never finds the peer dead. Needs root and nft (Debian's nftables; .ci/run installs it).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface SilencedLink {
  /** Lets the connection's packets through again (removes the table). */
  restore(): void;
}

export function silenceLoopbackConnection(clientPort: number, serverPort: number): SilencedLink {
  const table = `bulksms_test_silence_${process.pid}_${randomBytes(3).toString('hex')}`;
  const ruleset = [
    `table ip ${table} {`,
    '  chain out {',
    '    type filter hook output priority 0; policy accept;',
    `    ip daddr 127.0.0.0/8 tcp sport ${clientPort} tcp dport ${serverPort} drop`,
    `    ip daddr 127.0.0.0/8 tcp sport ${serverPort} tcp dport ${clientPort} drop`,
    '  }',
    '}',
  ].join('\n');
  try {
    execFileSync('nft', ['-f', '-'], { input: `${ruleset}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
  } catch (err) {
    const why = (err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message;
    throw new Error(`cannot silence a connection with nftables (needs root and Debian's nftables package): ${why}`, { cause: err });
  }
  let restored = false;
  return {
    restore() {
      if (restored) return;
      restored = true;
      execFileSync('nft', ['delete', 'table', 'ip', table], { stdio: 'ignore' });
    },
  };
}
