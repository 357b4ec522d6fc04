import { Writable } from 'node:stream';
import { createProgressView } from '../../../src/cli/campaign-progress';
import type { CampaignStatusView } from '../../../src/sending/campaign-control';

/** A terminal that keeps what was drawn on it. */
function fakeTty(): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  Object.assign(w, { isTTY: true, columns: 200 });
  return { stream: w as unknown as NodeJS.WriteStream, text: () => out };
}

function status(total: number, sent: number): CampaignStatusView {
  const counts = { pending: total - sent, queued: 0, sending: 0, sent, delivered: 0, failed: 0, unknown: 0, suppressed: 0, cancelled: 0 };
  return { campaignId: 'c', name: 'Diwali', status: 'running', pauseReason: null, alert: null, listStatus: 'ready', regulated: false, total, counts, runs: [] };
}

describe('the TTY progress bar', () => {
  // cli-progress's own {eta} took the place of ours: "ETA NULL" before its first estimate, then bare seconds.
  it('shows "--" while no rate is known', () => {
    const tty = fakeTty();
    const view = createProgressView({ enabled: true, stream: tty.stream, now: () => 0 });
    view.update(status(10_000, 0));
    view.stop();
    expect(tty.text()).toContain('| 0/s | ETA --');
  });

  it('shows the ETA of the measured rate in minutes and seconds', () => {
    const tty = fakeTty();
    let t = 0;
    const view = createProgressView({ enabled: true, stream: tty.stream, now: () => t });
    view.update(status(10_000, 0));
    t = 1000;
    view.update(status(10_000, 80)); // 80/s with 9920 left: 124 s
    view.stop();
    expect(tty.text()).toContain('| 80/s | ETA 2m04s');
  });
});
