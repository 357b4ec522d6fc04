import { requestStartsInPcap, wireView } from '../../../scripts/lib/wire-capture';

/** A pcap file (µs timestamps, little-endian, Ethernet) holding the given frames. */
function pcap(frames: { atMs: number; frame: Buffer }[], magic = 0xa1b2c3d4): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(magic, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const records = frames.map(({ atMs, frame }) => {
    const rec = Buffer.alloc(16);
    const fraction = magic === 0xa1b23c4d ? 1e6 : 1e3;
    rec.writeUInt32LE(Math.floor(atMs / 1000), 0);
    rec.writeUInt32LE(Math.round((atMs % 1000) * fraction), 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    return Buffer.concat([rec, frame]);
  });
  return Buffer.concat([header, ...records]);
}

function tcpFrame(payload: string, ip: 4 | 6 = 4, tcpOptions = 12, port = 8080): Buffer {
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(ip === 4 ? 0x0800 : 0x86dd, 12);
  const ipHeader = Buffer.alloc(ip === 4 ? 20 : 40);
  if (ip === 4) {
    ipHeader[0] = 0x45;
    ipHeader[9] = 6;
  } else {
    ipHeader[0] = 0x60;
    ipHeader[6] = 6;
  }
  const tcp = Buffer.alloc(20 + tcpOptions);
  tcp.writeUInt16BE(40000, 0);
  tcp.writeUInt16BE(port, 2);
  tcp[12] = ((20 + tcpOptions) / 4) << 4;
  return Buffer.concat([eth, ipHeader, tcp, Buffer.from(payload, 'latin1')]);
}

const post = 'POST /API/R1/ HTTP/1.1\r\nhost: x\r\n\r\nmodule=TRANS_SMS';

describe('requestStartsInPcap', () => {
  it('reads request lines and their capture times from IPv4 and IPv6 segments', () => {
    const file = pcap([
      { atMs: 1_764_000_000_123.456, frame: tcpFrame(post) },
      { atMs: 1_764_000_000_124.5, frame: tcpFrame('GET /API/V1/key/BAL/SMS HTTP/1.1\r\n\r\n', 6, 0, 9) },
    ]);
    const starts = requestStartsInPcap(file);
    expect(starts.map((s) => [s.target, s.port])).toEqual([['/API/R1/', 8080], ['/API/V1/key/BAL/SMS', 9]]);
    expect(starts[0]!.atMs).toBeCloseTo(1_764_000_000_123.456, 3);
    expect(starts[1]!.atMs).toBeCloseTo(1_764_000_000_124.5, 3);
  });

  it('reads nanosecond-resolution files', () => {
    const starts = requestStartsInPcap(pcap([{ atMs: 1_000_000.000_25, frame: tcpFrame(post) }], 0xa1b23c4d));
    expect(starts[0]!.atMs).toBeCloseTo(1_000_000.000_25, 5);
  });

  it('does not count a body in a segment of its own, an answer, or a torn last record', () => {
    const file = pcap([
      { atMs: 1000, frame: tcpFrame(post) },
      { atMs: 1001, frame: tcpFrame('module=TRANS_SMS&apikey=x&to=91987654321') },
      { atMs: 1002, frame: tcpFrame('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}') },
      { atMs: 1003, frame: tcpFrame(post) },
    ]);
    expect(requestStartsInPcap(file)).toHaveLength(2);
    expect(requestStartsInPcap(file.subarray(0, file.length - 10))).toHaveLength(1);
  });

  it('refuses a file that is not a pcap of Ethernet frames', () => {
    expect(() => requestStartsInPcap(Buffer.from('not a capture at all, really'))).toThrow(/unknown magic/);
    const raw = pcap([]);
    raw.writeUInt32LE(101, 20);
    expect(() => requestStartsInPcap(raw)).toThrow(/link type 101/);
  });
});

describe('wireView', () => {
  it('counts provider requests in the fullest sliding second, as the simulator does', () => {
    // 3 requests in (0, 1000], a 4th at 1000.5 ms: the window ending there holds 3 (the first left it).
    const at = [0, 400, 999, 1000.5, 1800];
    const view = wireView([...at.map((atMs) => ({ atMs, target: '/API/R1/', port: 1 })), { atMs: 500, target: '/__stats', port: 1 }]);
    expect(view).toEqual({ requests: 5, maxWindow: 3, maxWindowAt: 999 });
    expect(wireView([]).maxWindowAt).toBeNull();
  });
});
