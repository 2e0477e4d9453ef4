/**
 * Schemas shared by several routes: the problem body, ids, pagination. Route-specific schemas live
 * beside their routes; every TS type of a request or response is inferred from its schema.
 */
import { type TStringOptions, Type } from 'typebox';

export const Uuid = Type.String({ format: 'uuid', description: 'UUID' });

/**
 * An RFC 3339 date-time that is a real instant the database stores and reads back unchanged:
 * no leap second (`:60`), no month 13 or February 30, and from 0100-01-01T00:00:00Z to
 * 9999-12-31T23:59:59.999Z once its offset is applied. Enforced by the `date-time` format of
 * src/http/validation.ts ({@link isStoredInstant}), stricter than ajv-formats' own.
 */
export const DateTime = Type.String({
  format: 'date-time',
  description: 'RFC 3339 date-time, years 0100 to 9999, no leap second',
});

/**
 * Characters no request string may hold: C0 and C1 control characters (NUL included, which
 * PostgreSQL `text` cannot store: SQLSTATE 22021) and unpaired UTF-16 surrogates (not UTF-8).
 * Ajv compiles patterns with the `u` flag, so the surrogate range matches lone halves only.
 */
export const SAFE_TEXT_PATTERN = '^[^\\u0000-\\u001F\\u007F-\\u009F\\uD800-\\uDFFF]*$';

/** A request string of printable text ({@link SAFE_TEXT_PATTERN}); `options` add lengths, a description. */
export const SafeString = (options: TStringOptions = {}) =>
  Type.String({ pattern: SAFE_TEXT_PATTERN, ...options });

/** An account's email address (compared case-insensitively). */
export const Email = Type.String({ format: 'email', maxLength: 254 });

/** An account's password. */
export const Password = Type.String({ minLength: 8, maxLength: 256, description: 'at least 8 characters' });

/** A shop's user id, as a token's subject or an admin/service request names it. */
export const UserId = SafeString({ minLength: 1, maxLength: 128 });
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const IdParams = Type.Object({ id: Uuid });

/** RFC 9457 problem details, with Stampede's `code`, `requestId` and per-field `errors`. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'https://stampede.dev/problems/<code>' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    code: Type.String({ description: 'stable error code, e.g. sold-out' }),
    requestId: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem', description: 'application/problem+json (RFC 9457)' },
);

/** Responses every authenticated route may give, besides its own. */
export const ProblemResponses = {
  '4xx': ProblemSchema,
  '5xx': ProblemSchema,
};

export const PageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'page size' }),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'opaque cursor from nextCursor' })),
};

/**
 * An optional RFC 3339 date-time of a request (already validated by its schema) as a Date;
 * `null` (clear the field) and `undefined` (field absent) pass through.
 */
export function toDate<T extends string | null | undefined>(value: T): Date | Exclude<T, string> {
  return (typeof value === 'string' ? new Date(value) : value) as Date | Exclude<T, string>;
}
