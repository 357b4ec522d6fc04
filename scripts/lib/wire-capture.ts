/**
 * The provider's limit as the wire sees it: every request to the simulator's port, timed by the kernel when our
 * worker wrote it (tcpdump on loopback), counted in the same sliding 1-second window the simulator uses.
 *
 * Why a second view: the simulator stamps a request when its own event loop parses it. On a shared 2-core VM that
 * process can stall — traced at 14–36 ms in a chaos run (timer lateness, no garbage collection or arrivals to
 * explain it: a descheduled vCPU) — and requests written during a stall are then stamped together, a burst that
 * never was on the wire. A second over the limit in the simulator's view with none on the wire is that clock's
 * jitter; one on the wire too is our pacing's. The simulator's view stays the one the suites judge (a real
 * provider's clock has jitter of its own, which is what SMS_RATE_GUARD_MS is for); this view says which it was.
 *
 * Needs tcpdump and the right to capture (root); without them there is no wire view and the caller says so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SlidingWindow } from '../../src/simulator/sliding-window';

export interface RequestStart {
  /** Epoch milliseconds (µs resolution) at which the segment carrying the request line was captured. */
  atMs: number;
  /** The request line's target, e.g. `/API/R1/`. */
  target: string;
  /** The TCP destination port (the server's). */
  port: number;
}

export interface WireView {
  /** Requests to provider paths (`/API/…`: sends and V1 calls, the ones the simulator's limit counts). */
  requests: number;
  /** Most such requests in any 1-second window. */
  maxWindow: number;
  /** When that window ended (epoch ms); null without requests. */
  maxWindowAt: number | null;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const IPPROTO_TCP = 6;
const METHOD = /^(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) (\S+) HTTP\/1\.[01]\r?\n/;

/**
 * Request starts in a pcap file (Ethernet link type, as Linux captures loopback): TCP segments whose payload begins
 * with an HTTP request line. A request's body in a segment of its own, and answers, begin with no request line and
 * are not counted; with one request per connection in flight (undici's pipelining 1) no segment holds two.
 */
export function requestStartsInPcap(file: Buffer): RequestStart[] {
  if (file.length < 24) throw new Error('not a pcap file: shorter than its 24-byte header');
  const magicLe = file.readUInt32LE(0);
  const magicBe = file.readUInt32BE(0);
  const littleEndian = magicLe === PCAP_MAGIC_US || magicLe === PCAP_MAGIC_NS;
  if (!littleEndian && magicBe !== PCAP_MAGIC_US && magicBe !== PCAP_MAGIC_NS) throw new Error('not a pcap file: unknown magic number');
  const u32 = (at: number): number => (littleEndian ? file.readUInt32LE(at) : file.readUInt32BE(at));
  const fractionPerMs = (littleEndian ? magicLe : magicBe) === PCAP_MAGIC_NS ? 1e6 : 1e3;
  const linkType = u32(20) & 0x0fffffff;
  if (linkType !== LINKTYPE_ETHERNET) throw new Error(`pcap link type ${linkType} is not Ethernet (loopback on Linux captures as Ethernet)`);
  const starts: RequestStart[] = [];
  // A record cut off at the end (tcpdump stopped mid-write) is ignored, like a torn last line.
  for (let at = 24; at + 16 <= file.length; ) {
    const atMs = u32(at) * 1000 + u32(at + 4) / fractionPerMs;
    const captured = u32(at + 8);
    const frame = file.subarray(at + 16, at + 16 + captured);
    at += 16 + captured;
    if (frame.length < captured) break;
    const segment = tcpSegment(frame);
    if (!segment || segment.payload.length < 16) continue;
    const line = METHOD.exec(segment.payload.subarray(0, 512).toString('latin1'));
    if (line) starts.push({ atMs, target: line[2]!, port: segment.port });
  }
  return starts;
}

/** The TCP destination port and payload of an Ethernet frame carrying IPv4 or IPv6 (no extension headers), else null. */
function tcpSegment(frame: Buffer): { port: number; payload: Buffer } | null {
  if (frame.length < 14) return null;
  const etherType = frame.readUInt16BE(12);
  let tcpAt: number;
  if (etherType === ETHERTYPE_IPV4) {
    if (frame.length < 34 || frame[23] !== IPPROTO_TCP) return null;
    tcpAt = 14 + (frame[14]! & 0x0f) * 4;
  } else if (etherType === ETHERTYPE_IPV6) {
    if (frame.length < 54 || frame[20] !== IPPROTO_TCP) return null;
    tcpAt = 14 + 40;
  } else {
    return null;
  }
  if (frame.length < tcpAt + 20) return null;
  return { port: frame.readUInt16BE(tcpAt + 2), payload: frame.subarray(tcpAt + (frame[tcpAt + 12]! >> 4) * 4) };
}

/** Counts provider requests (`/API/…`) in the simulator's sliding 1-second window. */
export function wireView(starts: readonly RequestStart[]): WireView {
  const times = starts.filter((s) => s.target.startsWith('/API/')).map((s) => s.atMs).sort((a, b) => a - b);
  const window = new SlidingWindow();
  let maxWindow = 0;
  let maxWindowAt: number | null = null;
  for (const t of times) {
    const inWindow = window.add(t);
    if (inWindow > maxWindow) {
      maxWindow = inWindow;
      maxWindowAt = Math.round(t);
    }
  }
  return { requests: times.length, maxWindow, maxWindowAt };
}

export interface WireCapture {
  /** Stops capturing and counts what was written to the port meanwhile (again: the same answer). */
  stop(): Promise<WireView>;
}

/** Whether this process may capture (tcpdump installed, running as root). */
export function canCaptureWire(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Captures loopback TCP segments to `port` that start with a request line; null when capturing is not possible.
 * Only the first 600 bytes of each segment are kept (the request line), in a file in a temporary directory.
 */
export async function startWireCapture(port: number): Promise<WireCapture | null> {
  if (!canCaptureWire()) return null;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bulksms-wire-'));
  const file = path.join(dir, 'wire.pcap');
  // Payload-start test in BPF: "GET " or "POST" at the TCP payload's first byte, so answers and bodies are not kept.
  const payloadWord = 'tcp[((tcp[12:1] & 0xf0) >> 2):4]';
  const filter = `tcp dst port ${port} and (${payloadWord} = 0x47455420 or ${payloadWord} = 0x504f5354)`;
  // -U writes each packet out at once, so what was captured before stop() is in the file; -B: a 32 MB kernel buffer;
  // -Z root: Debian's tcpdump otherwise drops to user tcpdump before opening the file in our private directory.
  const args = ['-i', 'lo', '-n', '-U', '-B', '32768', '-s', '600', '-Z', 'root', '-w', file, filter];
  const child = spawn('tcpdump', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // tcpdump says "listening on lo" once its filter is attached; nothing earlier would be captured.
  const listening = await new Promise<boolean>((resolve) => {
    const onData = (): void => {
      if (/listening on/.test(stderr)) resolve(true);
    };
    child.stderr.on('data', onData);
    void exited.then(() => resolve(false));
    setTimeout(() => resolve(/listening on/.test(stderr)), 5_000).unref();
  });
  if (!listening) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`tcpdump did not start: ${stderr.trim().slice(0, 300)}`);
  }
  const finish = async (): Promise<WireView> => {
    // Without --immediate-mode (a wake-up of tcpdump per packet, CPU the measured run needs) the kernel hands
    // packets over in blocks, at the latest after libpcap's 1 s block timeout, and tcpdump drops what it was not yet
    // handed when interrupted: wait for the last block first. Capture times are the kernel's either way.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    child.kill('SIGINT');
    const code = await exited;
    const dropped = /(\d+) packets? dropped by kernel/.exec(stderr);
    try {
      if (code !== 0) throw new Error(`tcpdump ended with code ${code}: ${stderr.trim().slice(0, 300)}`);
      if (dropped && Number(dropped[1]) > 0) throw new Error(`tcpdump dropped ${dropped[1]} packets: the wire view would undercount`);
      return wireView(requestStartsInPcap(await readFile(file)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  let stopped: Promise<WireView> | null = null;
  // Idempotent, so a caller's `finally` can stop a capture its run already stopped.
  return { stop: () => (stopped ??= finish()) };
}
