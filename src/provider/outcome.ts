/**
 * The provider-outcome taxonomy used by the whole product. The 2Factor adapter maps every HTTP answer or
 * transport failure to exactly one of these; the sending engine decides what to do from the kind alone.
 *
 * - accepted            the provider queued the SMS; `sessionId` identifies it for delivery reports
 * - permanent_recipient this recipient can never get it (e.g. invalid number): message `failed`
 * - permanent_campaign  nothing in this campaign can go out until a human fixes it (sender not approved,
 *                       template missing/mismatch): pause the campaign
 * - account_fatal       the account cannot send at all (invalid key, disabled/expired, balance too low): pause
 * - retryable           certainly NOT sent (connection refused before the request was written, 429/throttle):
 *                       safe to send again later
 * - ambiguous           the SMS may have gone out (timeout after the request was written, reset mid-response,
 *                       5xx, unparseable body): message `unknown`, never re-sent automatically
 */
export const OUTCOME_KINDS = [
  'accepted',
  'permanent_recipient',
  'permanent_campaign',
  'account_fatal',
  'retryable',
  'ambiguous',
] as const;

export type OutcomeKind = (typeof OUTCOME_KINDS)[number];

export interface AcceptedOutcome {
  kind: 'accepted';
  sessionId: string;
}

export interface FailureOutcome {
  kind: Exclude<OutcomeKind, 'accepted'>;
  /** The provider's own text (its `Details`), or a description of the transport failure. Never contains the key. */
  detail: string;
  /** HTTP status when a response was received. */
  httpStatus?: number;
  /** For retryable outcomes caused by throttling (HTTP 429 or a throttle text): slow the whole fleet down. */
  throttled?: boolean;
  /** Suggested wait before retrying (ms), e.g. from Retry-After. */
  retryAfterMs?: number;
}

export type SendOutcome = AcceptedOutcome | FailureOutcome;

export const isAccepted = (o: SendOutcome): o is AcceptedOutcome => o.kind === 'accepted';
