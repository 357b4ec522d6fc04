/**
 * Names an input the way the caller wrote it. Shared code (campaign, import) knows an input by its id, which is
 * the HTTP API's field name (`at`, `packSize`, `phoneColumn`); the CLI names the same input by its option
 * (`--at`, `--pack`, `--phone-column`). Each adapter passes its own namer when it renders an error.
 */
export type InputNamer = (id: string) => string;

/** An error text; one that names inputs is a function, so each adapter renders the names its caller used. */
export type ErrorText = string | ((name: InputNamer) => string);

/** Renders input ids as they are (the API's field names): `message` and logs without an adapter. */
const asId: InputNamer = (id) => id;

/** Application error base: a stable code, an exit code for the CLI and an HTTP status for the API. */
export class AppError extends Error {
  private readonly text: (name: InputNamer) => string;

  constructor(
    text: ErrorText,
    readonly code: string,
    readonly exitCode: 1 | 2,
    readonly httpStatus: number,
    options?: { cause?: unknown },
  ) {
    const render = typeof text === 'string' ? () => text : text;
    super(render(asId), options);
    this.text = render;
    this.name = this.constructor.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }

  /**
   * The input that gets past this refusal when the caller repeats the request with it set (`force` for a start
   * refused over credits), so a client can offer that choice without parsing the message.
   */
  overridableBy?: string;

  /** Marks the error as one that repeating the request with `input` set gets past (see `overridableBy`). */
  overridable(input: string): this {
    this.overridableBy = input;
    return this;
  }

  /** The message with each input named as `name` names it (`--at` for the CLI, `at` for the HTTP API). */
  messageFor(name: InputNamer): string {
    return this.text(name);
  }
}

/**
 * Bad usage or bad input: CLI exit 2, HTTP 400. The message says what and where; `field` is the id of the input
 * at fault (see InputNamer), which the adapter reports under the caller's name for it.
 */
export class ValidationError extends AppError {
  constructor(text: ErrorText, readonly field?: string, options?: { cause?: unknown }) {
    super(text, 'validation', 2, 400, options);
  }
}

export class NotFoundError extends AppError {
  constructor(text: ErrorText) {
    super(text, 'not_found', 2, 404);
  }
}

/** The operation conflicts with current state (e.g. resuming a completed campaign). */
export class ConflictError extends AppError {
  constructor(text: ErrorText) {
    super(text, 'conflict', 2, 409);
  }
}

/** A dependency failed (services down, provider unreachable): CLI exit 1, HTTP 503. */
export class ServiceError extends AppError {
  /**
   * What only the server's operator may read (a path, PostgreSQL's words): the message says it in general terms for
   * every caller; the CLI, which runs on the server, adds this — at LOG_LEVEL=error it was nowhere else to be seen.
   * The HTTP API never answers it.
   */
  readonly serverDetail?: string;

  constructor(text: ErrorText, options?: { cause?: unknown; serverDetail?: string }) {
    super(text, 'service', 1, 503, options);
    if (options?.serverDetail) this.serverDetail = options.serverDetail;
  }
}

export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === 'string' ? err : JSON.stringify(err));
}
