/**
 * The closed list of domain errors. Domain code throws {@link DomainError} with one of these codes
 * and knows nothing of HTTP; `src/http/errors.ts` maps each code to a status exactly once.
 * The codes are the stable `code` and the last segment of the `type` URI of problem+json bodies.
 */
export const ERROR_CODES = {
  'validation-failed': 'The request is not valid',
  'unsupported-media-type': 'The request body must be application/json',
  'payload-too-large': 'The request body is too large',
  unauthorized: 'Authentication is required',
  'invalid-credentials': 'Email or password is wrong',
  forbidden: 'Not allowed for this principal',
  'not-found': 'Not found',
  'email-taken': 'The email address is already registered',
  'account-disabled': 'The account is disabled',
  'last-admin': 'The last active admin cannot be removed, disabled or demoted',
  'setup-done': 'The first admin already exists',
  'invalid-setup-token': 'The setup token is wrong',
  'sold-out': 'The campaign has no stock left',
  'already-claimed': 'The user has reached the per-user limit of this campaign',
  'campaign-not-active': 'The campaign is not accepting this operation now',
  'invalid-transition': 'The campaign cannot move to that status',
  'already-redeemed': 'The coupon has already been redeemed',
  'coupon-expired': 'The coupon has expired',
  'coupon-revoked': 'The coupon has been revoked',
  'order-amount-too-low': 'The order amount is below the minimum of the campaign',
  'budget-exhausted': 'The discount would exceed what remains of the campaign budget',
  'already-rolled-back': 'The redemption has already been rolled back',
  'code-taken': 'The code is already used by another coupon or campaign',
  'delivery-in-flight': 'A dispatcher is sending this webhook delivery now; retry when it is done',
  'retention-expired': 'The campaign was deleted too long ago to be restored',
  'idempotency-key-reused': 'The Idempotency-Key was already used with another request',
  'idempotency-key-in-use': 'A request with this Idempotency-Key is still in progress',
  'gate-not-configured':
    'This server runs no redis-gate (ISSUANCE_STRATEGY=redis-gate with Redis): dead letters can be listed, not retried',
  'not-retryable': 'The dead letter holds no whole claim to queue again',
  'rate-limited': 'Too many requests',
  'service-unavailable': 'A dependency is unavailable; retry later',
  'not-implemented': 'Not available in this configuration',
  internal: 'Internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One invalid field of a request: `field` is a JSON pointer-like path such as `body/totalQuantity`. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * Codes of faults, whose errors keep a stack trace (a 5xx is logged with it). Every other code is
 * an answer to the client (sold out, rate limited, not found, …), whose stack nobody reads: V8
 * captures it at construction, which cost about 5 µs of the ~80 µs of CPU a refused claim takes
 * (CPU profile of a flash sale, issue 11), so those are built without one.
 */
const FAULT_CODES: ReadonlySet<ErrorCode> = new Set(['internal', 'service-unavailable', 'not-implemented']);

export class DomainError extends Error {
  readonly code: ErrorCode;
  /** Invalid fields, for `validation-failed`. */
  readonly errors: FieldError[] | undefined;
  /** Seconds after which a retry may succeed (`service-unavailable`, `rate-limited`). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    extra: { errors?: FieldError[]; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    const stackTraceLimit = Error.stackTraceLimit;
    if (!FAULT_CODES.has(code)) Error.stackTraceLimit = 0;
    super(detail ?? ERROR_CODES[code], { cause: extra.cause });
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'DomainError';
    this.code = code;
    this.errors = extra.errors;
    this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

/** Shorthand for a `validation-failed` error on one field. */
export function invalidField(field: string, message: string): DomainError {
  return new DomainError('validation-failed', `${field} ${message}`, { errors: [{ field, message }] });
}

/**
 * A resource named by a setting cannot be used: the database or Redis does not answer, the port
 * is taken, the host is not an address of this machine. `setting` is the environment variable to
 * fix; the message is one line meant for the operator (the CLI prints it as is, with no stack).
 */
export class SettingError extends Error {
  constructor(
    readonly setting: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = 'SettingError';
  }
}

/** Node's and PostgreSQL's codes for "could not connect", as words for an operator. */
const CONNECTION_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS lookup failed)',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  EACCES: 'permission denied',
  '28P01': 'password authentication failed',
  '28000': 'not authorized',
  '3D000': 'database does not exist',
};

/**
 * Why a connection failed, in a few words ("connection refused"), or undefined when `error` is
 * not a connection failure. Looks through `cause` and AggregateError (Node tries IPv6 and IPv4).
 */
export function connectionFailure(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const fields = current as { code?: unknown; message?: unknown; errors?: unknown[]; cause?: unknown };
    if (typeof fields.code === 'string' && fields.code in CONNECTION_FAILURES) {
      return CONNECTION_FAILURES[fields.code];
    }
    if (typeof fields.message === 'string' && /timeout exceeded when trying to connect/i.test(fields.message))
      return 'timed out';
    current = Array.isArray(fields.errors) && fields.errors.length > 0 ? fields.errors[0] : fields.cause;
  }
  return undefined;
}

/**
 * Where a service URL points, for a message that names it without its credentials:
 * `host:port` (the scheme's `defaultPort` when the URL has none), then the path when asked
 * (a PostgreSQL database name); `unparseable URL` when it is not one.
 */
export function urlAddress(url: string, defaultPort: number, options: { path?: boolean } = {}): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || defaultPort}${options.path ? parsed.pathname : ''}`;
  } catch {
    return 'unparseable URL';
  }
}
