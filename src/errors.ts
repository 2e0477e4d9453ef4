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
  'sold-out': 'The campaign has no stock left',
  'already-claimed': 'The user has reached the per-user limit of this campaign',
  'campaign-not-active': 'The campaign is not accepting this operation now',
  'invalid-transition': 'The campaign cannot move to that status',
  'already-redeemed': 'The coupon has already been redeemed',
  'coupon-expired': 'The coupon has expired',
  'coupon-revoked': 'The coupon has been revoked',
  'order-amount-too-low': 'The order amount is below the minimum of the campaign',
  'already-rolled-back': 'The redemption has already been rolled back',
  'code-taken': 'The code is already used by another coupon or campaign',
  'retention-expired': 'The campaign was deleted too long ago to be restored',
  'idempotency-key-reused': 'The Idempotency-Key was already used with another request',
  'idempotency-key-in-use': 'A request with this Idempotency-Key is still in progress',
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
    super(detail ?? ERROR_CODES[code], { cause: extra.cause });
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
