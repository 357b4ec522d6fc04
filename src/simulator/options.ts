/**
 * Simulator options. In-process defaults (startSimulator) favour fast tests: port 0, no latency, instant
 * delivery reports. The CLI (`bulksms simulator`) defaults to 2Factor's documented figures instead
 * (port 4010, 100-500 ms latency). Both enforce 200 requests/s per key, 2Factor's default throughput.
 */
import { z } from 'zod';
import { ValidationError, type InputNamer } from '../errors';

const share = z.number().min(0).max(1);

export const optionsSchema = z.object({
  /** The one valid API key; any other gets `Invalid API Key - No Account Exists`. */
  apiKey: z.string().min(1),
  /** 0 = ephemeral. */
  port: z.number().int().min(0).max(65535),
  host: z.string().min(1),
  /** Requests per API key admitted in any sliding 1-second window; null = unlimited. */
  rate: z.number().int().positive().nullable(),
  /**
   * What the rate limit counts: 'all' API requests (sends, balances, reports, OTP: an account limit, the
   * strict reading of 2Factor's "200 requests per second") or only R1 'send' requests.
   */
  rateScope: z.enum(['all', 'send']),
  /** Answer delay, uniform in [min, max] ms. */
  latencyMs: z.tuple([z.number().min(0), z.number().min(0)]).refine(([min, max]) => min <= max, 'min must be <= max'),
  /** Share of send requests answered with an HTML 502 (not processed). */
  failRate: share,
  /** Share of send requests that never get an answer (not processed; the client must time out). */
  hangRate: share,
  /**
   * Share of those 502s and hangs that come *after* the send was accepted (a gateway failing on the way back): the
   * SMS goes out, the client cannot know. Without it a client that re-sent what it could not know about would still
   * show no duplicate (chaos row 4).
   */
  faultAfterAccept: share,
  /**
   * What a `failRate` fault answers: an HTML 502 from a gateway, a 500 carrying an Error envelope with a text no
   * table knows, an empty 200, a 200 whose JSON is cut off, or a connection reset without any answer. With
   * `faultAfterAccept` each of them can also strike once the SMS went out.
   */
  faultKind: z.enum(['http_502', 'http_500_error', 'empty_200', 'truncated_200', 'reset']),
  /** Credits left (one per SMS segment per recipient); null = unlimited. */
  balance: z.number().min(0).nullable(),
  /** Answer `Invalid API Key` from the Nth API request on (1-based, counted since the last reset). */
  invalidKeyFromRequest: z.number().int().positive().nullable(),
  /** Time from acceptance to the final delivery state. */
  dlrDelayMs: z.number().int().min(0),
  /**
   * How long a session's delivery report stays readable after it turned final. Benchmarks that poll no reports
   * shorten it: every kept session is heap the simulator's collector walks, and its pauses are the clock's jitter.
   */
  reportRetentionMs: z.number().int().min(0),
  /** Share of recipients whose delivery report ends FAILED. */
  dlrFailRate: share,
  /** Share of recipients whose delivery report ends DLT-CNT-REJECT. */
  dltRejectRate: share,
  /** Push delivery reports (form POST, Dial2Verify fields) here; null = pull only. */
  callbackUrl: z.string().url().nullable(),
  /** JSONL log of accepted recipients; null = no log. */
  logPath: z.string().min(1).nullable(),
  /** Lifetime of an SMS-OTP code. */
  otpTtlMs: z.number().int().positive(),
  /**
   * Numbers (`91XXXXXXXXXX`) refused with the given Details text (a Status Error on HTTP 200), for answers 2Factor
   * documents no text for, such as DND or its per-account block list; a request naming any of them is refused whole.
   */
  refusals: z.record(z.string(), z.string()),
  /** Approved sender ids; null = any sender is approved. */
  senders: z.array(z.string()).nullable(),
  /** Dashboard templates: name → text with `{#var#}` placeholders; null = any template name is accepted. */
  templates: z.record(z.string(), z.string()).nullable(),
});

export type SimulatorOptions = z.infer<typeof optionsSchema>;
export type SimulatorInput = Partial<SimulatorOptions> & Pick<SimulatorOptions, 'apiKey'>;

export const DEFAULT_OPTIONS: Omit<SimulatorOptions, 'apiKey'> = {
  port: 0,
  host: '127.0.0.1',
  rate: 200,
  rateScope: 'all',
  latencyMs: [0, 0],
  failRate: 0,
  hangRate: 0,
  faultAfterAccept: 0,
  faultKind: 'http_502',
  balance: null,
  invalidKeyFromRequest: null,
  dlrDelayMs: 0,
  reportRetentionMs: 6 * 60 * 60 * 1000,
  dlrFailRate: 0,
  dltRejectRate: 0,
  callbackUrl: null,
  logPath: null,
  otpTtlMs: 600_000,
  refusals: {},
  senders: null,
  templates: null,
};

/**
 * Each issue under the name of its input: the option id for `/__config` (`failRate`), the flag for the CLI
 * (`--fail-rate`, see cli/input-names.ts), so the operator reads the option they typed.
 */
function explain(error: z.ZodError, name: InputNamer): string {
  return error.issues
    .map((i) => {
      const [key, ...rest] = i.path.map(String);
      return `${key === undefined ? 'options' : [name(key), ...rest].join('.')}: ${i.message}`;
    })
    .join('; ');
}

export function resolveOptions(input: SimulatorInput): SimulatorOptions {
  const parsed = optionsSchema.safeParse({ ...DEFAULT_OPTIONS, ...input });
  if (!parsed.success) {
    const error = parsed.error;
    const field = error.issues[0]?.path[0];
    throw new ValidationError((n) => `invalid simulator options: ${explain(error, n)}`, field === undefined ? undefined : String(field));
  }
  if (parsed.data.dlrFailRate + parsed.data.dltRejectRate > 1) {
    throw new ValidationError((n) => `invalid simulator options: ${n('dlrFailRate')} + ${n('dltRejectRate')} must be <= 1`, 'dlrFailRate');
  }
  return parsed.data;
}

/** Validates a runtime patch (POST /__config or configure()); unknown keys are rejected. */
export function applyPatch(current: SimulatorOptions, patch: unknown): SimulatorOptions {
  const parsed = optionsSchema.partial().strict().safeParse(patch);
  if (!parsed.success) throw new ValidationError(`invalid simulator patch: ${explain(parsed.error, (id) => id)}`);
  return resolveOptions({ ...current, ...parsed.data });
}

/** `100-500` or `250` → [min, max] ms. */
export function parseLatency(text: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
  if (!m) throw new ValidationError(`--latency must look like 100-500 or 0, got "${text}"`, 'latency');
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  if (min > max) throw new ValidationError(`--latency: min ${min} is above max ${max}`, 'latency');
  return [min, max];
}
