/**
 * Accepted sessions, kept for their delivery reports, one flat string per session.
 *
 * The simulator is the clock of every rate-window measurement, so its GC pauses matter: a pause delays the
 * stamps of the requests that arrive during it, and a second later those late stamps put extra requests into
 * one window (traced: every burst of 429s in a 2000 rps bench came 0.9–1 s after a full GC of the simulator,
 * whose pause grew with its heap to 11–15 ms). A session kept as objects (session, recipients array, one
 * object per recipient, plus strings sliced from the request that keep the whole query alive) and the
 * duplicate accounting's set per text cost ~740 bytes of heap per accepted request; packed into one string
 * (and numbers in stats.ts), ~375 — and a string is one object the collector never looks inside.
 */
import type { FinalStatus, Session } from './delivery';

const CODE: Record<FinalStatus, string> = { DELIVERED: 'D', FAILED: 'F', 'DLT-CNT-REJECT': 'R' };
const FINAL: Record<string, FinalStatus> = { D: 'DELIVERED', F: 'FAILED', R: 'DLT-CNT-REJECT' };

/** `finalAt \t codes \t to,to,… \t text` — numbers hold no tab or comma, so the text can be anything. */
export function packSession(s: Omit<Session, 'id'>): string {
  let codes = '';
  for (const r of s.recipients) codes += CODE[r.final];
  const packed = `${s.finalAt}\t${codes}\t${s.recipients.map((r) => r.to).join(',')}\t${s.text}`;
  // A concatenation is a tree of pieces (and a piece may be a slice of the request string): copy it flat so the
  // session keeps only its own characters.
  return Buffer.from(packed, 'utf8').toString('utf8');
}

export function unpackSession(id: string, packed: string): Session {
  const a = packed.indexOf('\t');
  const b = packed.indexOf('\t', a + 1);
  const c = packed.indexOf('\t', b + 1);
  const codes = packed.slice(a + 1, b);
  const tos = packed.slice(b + 1, c).split(',');
  return {
    id,
    finalAt: Number(packed.slice(0, a)),
    recipients: tos.map((to, i) => ({ to, final: FINAL[codes[i]!]! })),
    text: packed.slice(c + 1),
  };
}

const finalAtOf = (packed: string): number => Number(packed.slice(0, packed.indexOf('\t')));

export class SessionStore {
  private readonly packed = new Map<string, string>();

  /** Stores a session and drops those that turned final more than `retentionMs` ago. */
  add(session: Session, retentionMs: number, now = Date.now()): void {
    // Map order is insertion order, which is (almost) finalAt order: drop expired sessions from the front.
    const cutoff = now - retentionMs;
    for (const [id, p] of this.packed) {
      if (finalAtOf(p) >= cutoff) break;
      this.packed.delete(id);
    }
    this.packed.set(session.id, packSession(session));
  }

  get(id: string): Session | undefined {
    const p = this.packed.get(id);
    return p === undefined ? undefined : unpackSession(id, p);
  }

  get size(): number {
    return this.packed.size;
  }
}
