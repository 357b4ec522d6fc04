import { packSession, SessionStore, unpackSession } from '../../../src/simulator/session-store';
import { StatsCounters } from '../../../src/simulator/stats';
import type { Session } from '../../../src/simulator/delivery';

const session = (id: string, finalAt: number, text = 'Your code is 42'): Session => ({
  id,
  text,
  finalAt,
  recipients: [
    { to: '919812345678', final: 'DELIVERED' },
    { to: '919812345679', final: 'FAILED' },
    { to: '919812345680', final: 'DLT-CNT-REJECT' },
  ],
});

describe('SessionStore', () => {
  it('gives back exactly what was stored, whatever the text holds (tabs, commas, Hindi, emoji)', () => {
    for (const text of ['plain', 'a\tb\tc, d,e', 'नमस्ते {{name}} 🙂', '']) {
      const s = session('abc', 1_795_000_000_123, text);
      expect(unpackSession('abc', packSession(s))).toEqual(s);
    }
  });

  it('finds sessions by id and drops them once they have been final longer than the retention', () => {
    const store = new SessionStore();
    store.add(session('old', 10_000), 1000, 10_000);
    store.add(session('new', 10_900), 1000, 10_900);
    expect(store.get('old')?.recipients.map((r) => r.final)).toEqual(['DELIVERED', 'FAILED', 'DLT-CNT-REJECT']);
    expect(store.get('missing')).toBeUndefined();
    store.add(session('newest', 11_500), 1000, 11_500); // 'old' turned final 1.5 s ago: gone; 'new' 0.6 s ago: kept
    expect(store.get('old')).toBeUndefined();
    expect(store.get('new')?.finalAt).toBe(10_900);
    expect(store.size).toBe(2);
  });
});

describe('duplicate accounting', () => {
  it('counts a recipient accepted twice with the same text, not with a different one', () => {
    const c = new StatsCounters();
    c.accept(['919812345678', '919812345679'], 111);
    c.accept(['919812345678'], 222); // another text to the same number: not a duplicate
    expect(c.duplicates).toBe(0);
    c.accept(['919812345678'], 222);
    c.accept(['919812345678'], 111);
    c.accept(['919812345679'], 111);
    expect(c.duplicates).toBe(3);
    expect(c.acceptedRecipients).toBe(6);
  });
});
