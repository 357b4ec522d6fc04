/**
 * The ONE table of known 2Factor `Details` texts (answers with `"Status":"Error"`), mapped to the outcome
 * taxonomy of ../outcome.ts. Texts come from ../../../../shared/reference/2factor-api.md §4; the provider
 * has no numeric codes, so matching is on text: trimmed, whitespace-collapsed, case-insensitive, without a
 * trailing full stop, and a known text counts wherever it stands as whole words ("Error: Invalid API Key -
 * No Account Exists", "Access Denied - Balance is too low. Please recharge"). Rules are tried in order, most
 * severe scope first, so a text naming an account-level problem never fails a single recipient.
 */
import type { FailureOutcome } from '../outcome';

export type FailureKind = FailureOutcome['kind'];

export interface DetailsRule {
  /** Exact text (compared case-insensitively) or a pattern for texts with a variable part. */
  match: string | RegExp;
  kind: FailureKind;
  throttled?: boolean;
}

export const DETAILS_TABLE: readonly DetailsRule[] = [
  // The account cannot send anything: pause everything until a human fixes the account.
  { match: 'Invalid API Key - No Account Exists', kind: 'account_fatal' },
  { match: 'Access Denied - Balance is too low', kind: 'account_fatal' },
  { match: 'Access Denied - Account Disabled', kind: 'account_fatal' },
  { match: 'Access Denied - Account Expired', kind: 'account_fatal' },
  // Sender/template/DLT problems: every message of the campaign would fail the same way.
  { match: /\bAccess Denied - Sender Id '.*' not approved\b/i, kind: 'permanent_campaign' },
  { match: 'Missing templatename value', kind: 'permanent_campaign' }, // R1 spelling
  { match: 'Missing TemplateName value', kind: 'permanent_campaign' }, // V1 TSMS spelling
  { match: 'Incorrect sender id and templatename provided', kind: 'permanent_campaign' },
  { match: 'Invalid Template', kind: 'permanent_campaign' },
  // Normally seen in delivery reports; a synchronous rejection is possible but unconfirmed.
  { match: 'DLT-CNT-REJECT', kind: 'permanent_campaign' },
  // `Length Mismatch(Expected: 10)`, `(Expected >= 10)` and any other invalid-number variant.
  { match: /\bInvalid Phone Number\b/i, kind: 'permanent_recipient' },
  // 2Factor documents no DND or block-list text, yet both are facts about one number (the DND registry, the
  // account's BLOCK list), so another recipient would go through: fail this one (a pack is re-sent one by one)
  // rather than pause the campaign at every such number. Only when the text names no sender, template, header,
  // account or key, whose problems stop the whole campaign.
  { match: /^(?!.*\b(sender|template|header|account|api key)\b).*(\b(DND|NDNC)\b|\bdo not disturb\b)/i, kind: 'permanent_recipient' },
  {
    match: /^(?!.*\b(sender|template|header|account|api key)\b).*\b(number|mobile|recipient)\b.*\b(blocked|blacklisted|block ?listed)\b/i,
    kind: 'permanent_recipient',
  },
  // 2Factor documents no throttle text; these cover the usual wordings (the simulator uses "Too Many Requests").
  { match: /too many requests|rate limit|throttl/i, kind: 'retryable', throttled: true },
];

const normalise = (text: string): string =>
  text
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/\s*[.!]+$/, '');

/** `phrase` (lower case) in `lower` as whole words: not "Invalid Templates" for "Invalid Template". */
function containsPhrase(lower: string, phrase: string): boolean {
  for (let at = lower.indexOf(phrase); at !== -1; at = lower.indexOf(phrase, at + 1)) {
    const before = lower[at - 1];
    const after = lower[at + phrase.length];
    if ((before === undefined || !/\w/.test(before)) && (after === undefined || !/\w/.test(after))) return true;
  }
  return false;
}

export interface DetailsClassification {
  kind: FailureKind;
  throttled?: boolean;
  /** False when no rule matched and the safe default was applied. */
  known: boolean;
}

/**
 * Classify the `Details` of a `Status:Error` answer.
 *
 * Unknown text → `permanent_campaign`. Why: a `Status:Error` envelope is a definite "not accepted" (so
 * `ambiguous` would be wrong and would leave messages `unknown`), but we do not know its scope. A blind
 * `retryable` could hammer the provider (or burn credits if the text meant "partially accepted") with
 * every recipient of the campaign; `permanent_recipient` could silently fail a whole list for an
 * account-wide reason. Pausing the campaign makes a human read the new text, after which it belongs here.
 */
export function classifyDetails(details: string): DetailsClassification {
  const text = normalise(details);
  const lower = text.toLowerCase();
  for (const rule of DETAILS_TABLE) {
    const hit = typeof rule.match === 'string' ? containsPhrase(lower, rule.match.toLowerCase()) : rule.match.test(text);
    if (hit) return rule.throttled ? { kind: rule.kind, throttled: true, known: true } : { kind: rule.kind, known: true };
  }
  return { kind: 'permanent_campaign', known: false };
}
