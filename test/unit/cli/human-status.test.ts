import { humanStatus } from '../../../src/cli/commands/campaign-control';
import type { CampaignStatusView } from '../../../src/sending/campaign-control';

const zero = { pending: 0, queued: 0, sending: 0, sent: 0, delivered: 0, failed: 0, unknown: 0, suppressed: 0, cancelled: 0 };

function view(status: string, pauseReason: string | null): CampaignStatusView {
  return { campaignId: 'c1', name: 'Diwali', status, pauseReason, alert: null, listStatus: 'ready', regulated: false, total: 3, counts: { ...zero, sent: 1, cancelled: 2 }, runs: [] };
}

describe('humanStatus', () => {
  it("shows a paused campaign's reason as its reason", () => {
    expect(humanStatus(view('paused', 'paused via API')).split('\n')[0]).toBe('campaign "Diwali" c1: paused (paused via API)');
  });

  it('shows the reason a cancelled campaign had been paused for as history, not as why it is cancelled', () => {
    expect(humanStatus(view('cancelled', 'paused via API')).split('\n')[0]).toBe('campaign "Diwali" c1: cancelled (last paused: paused via API)');
    expect(humanStatus(view('running', null)).split('\n')[0]).toBe('campaign "Diwali" c1: running');
  });

  it('says when the campaign\'s contact list was deleted (its history stays, a new run has no contacts)', () => {
    expect(humanStatus({ ...view('completed', null), listStatus: 'deleted' }).split('\n')[0]).toBe('campaign "Diwali" c1: completed (list deleted)');
    expect(humanStatus({ ...view('failed', null), listStatus: 'deleting' }).split('\n')[0]).toBe('campaign "Diwali" c1: failed (list being deleted)');
  });

  it('blanks control and bidi-override characters of the pause reason and the alert (texts an API caller or the provider gave)', () => {
    const text = humanStatus({ ...view('paused', 'stop\u001b[2J\r\nnow\u202E'), alert: 'DLT\u0007 \u0092rejected' });
    expect(text.split('\n')[0]).toBe('campaign "Diwali" c1: paused (stop [2J  now )');
    // eslint-disable-next-line no-control-regex -- control characters are what must not be printed
    expect(text.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(text).toContain('ALERT: DLT   rejected');
  });
});

