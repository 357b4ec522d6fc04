/**
 * Notices a provider outage from the answers themselves and says when to pause the campaign. Pure (a map of counts).
 *
 * Two answers show the provider not working: one of unknown fate (timeout after the write, 5xx, unreadable body) and
 * none at all (the connection refused or timed out before the request was written). Left alone, the first turns the
 * rest of the list `unknown` at full speed; the second spends every message's attempts in a few minutes and fails the
 * whole list — an hour of 2Factor (or firewall, or DNS) trouble becomes a list to retry by hand. A run of them, with no
 * answer between that proves the provider works (accepted, or a refusal of one recipient), pauses the campaign
 * instead: resumable with nothing spent. Throttling and campaign/account refusals neither prove nor disprove it and
 * leave the count as it is.
 */
import type { SendOutcome } from '../provider/outcome';

/** Certainly not sent because nothing reached the provider: a transport failure before the write (no HTTP status). */
export function isUnreached(outcome: SendOutcome): boolean {
  return outcome.kind === 'retryable' && !outcome.throttled && outcome.httpStatus === undefined;
}

interface Streak {
  unknownFate: number;
  unreached: number;
}

export class OutageWatch {
  private readonly streaks = new Map<string, Streak>();

  /** `limit`: answers in a row that pause the campaign. */
  constructor(private readonly limit: number) {}

  /**
   * Counts one answer for the campaign; returns the pause reason when it completes a run of `limit` failing answers
   * (and starts counting afresh), else undefined.
   */
  observe(campaignId: string, outcome: SendOutcome): string | undefined {
    if (outcome.kind === 'accepted' || outcome.kind === 'permanent_recipient') {
      this.streaks.delete(campaignId);
      return undefined;
    }
    const unreached = isUnreached(outcome);
    if (outcome.kind !== 'ambiguous' && !unreached) return undefined;
    const streak = this.streaks.get(campaignId) ?? { unknownFate: 0, unreached: 0 };
    if (unreached) streak.unreached++;
    else streak.unknownFate++;
    this.streaks.set(campaignId, streak);
    const total = streak.unknownFate + streak.unreached;
    if (total < this.limit) return undefined;
    this.streaks.delete(campaignId);
    return pauseReason(streak, outcome.detail);
  }
}

function pauseReason({ unknownFate, unreached }: Streak, lastDetail: string): string {
  const total = unknownFate + unreached;
  if (!unreached) return `${total} provider answers in a row of unknown fate (last: ${lastDetail}); check 2Factor, then resume`;
  if (!unknownFate) {
    return `${total} requests in a row could not reach 2Factor, none was sent (last: ${lastDetail}); check the network and TWOFACTOR_BASE_URL, then resume`;
  }
  return `${total} requests in a row failed at 2Factor: ${unknownFate} of unknown fate, ${unreached} not sent (last: ${lastDetail}); check 2Factor, then resume`;
}
