import { Writable } from 'node:stream';
import { printDemoSummary, type DemoSummary } from '../../../src/cli/demo-summary';

function printed(s: DemoSummary): string {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  printDemoSummary(s, out);
  return text;
}

const summary = (over: Partial<DemoSummary>): DemoSummary => ({
  campaignId: 'c1',
  status: 'completed',
  pauseReason: null,
  counts: { delivered: 9, failed: 1 },
  imported: { listId: 'l1', rows: 10, accepted: 10, rejected: 0, duplicates: 0, suppressed: 0, rejectReport: null },
  requests: 10,
  achievedRate: 5,
  limit: 200,
  elapsedSeconds: 2,
  failures: [],
  provider: { maxWindow: 5, writtenMaxWindow: null, throttled: 0, duplicates: 0 },
  reports: { delivered: 9, failed: 1, awaiting: 0, waitedSeconds: 1, callbacks: 9, early: 0 },
  ...over,
});

describe('printDemoSummary', () => {
  it('blanks control and bidi-override characters in failure reasons and the pause reason, as other printers do', () => {
    const text = printed(
      summary({
        status: 'paused',
        pauseReason: 'provider says\u001b[2J stop\u202E',
        failures: [{ status: 'failed', reason: 'DND\r\nfake line\u0007\u0092', count: 1 }],
      }),
    );
    // Only the summary's own line breaks: no escape sequence, bell, CR, C1 control or override reached the terminal.
    // eslint-disable-next-line no-control-regex -- control characters are what must not be printed
    expect(text.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(text).toContain('c1 (paused: provider says [2J stop )');
    expect(text).toMatch(/ {5}1 {2}failed {3}DND {2}fake line {2}\n$/);
  });

  it('shows what this process wrote beside the simulator\'s count, when it was watched', () => {
    const over = { maxWindow: 204, writtenMaxWindow: 200, throttled: 8, duplicates: 0 };
    expect(printed(summary({ provider: over }))).toMatch(/provider view +max 204 requests in any 1 s \(200 as this process wrote them\), 8 throttled \(429\), 0 duplicates\n/);
    expect(printed(summary({}))).toMatch(/provider view +max 5 requests in any 1 s, 0 throttled/);
  });
});
