/**
 * Schemas shared by several routes: the problem body, ids, pagination. Route-specific schemas live
 * beside their routes; every TS type of a request or response is inferred from its schema.
 */
import { Type } from 'typebox';
import { DomainError } from '../errors.js';

export const Uuid = Type.String({ format: 'uuid', description: 'UUID' });
export const DateTime = Type.String({ format: 'date-time', description: 'RFC 3339 date-time' });
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
 * A keyset position: the sort timestamp as PostgreSQL text (with its microseconds, e.g.
 * `2026-11-22 05:38:07.123456+00`) and the row id. A JS Date would keep only milliseconds and
 * skip or repeat rows sharing one, such as a batch of generated codes.
 */
export interface KeysetPosition {
  at: string;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** PostgreSQL's ISO timestamptz output. */
const PG_TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;

/**
 * An optional RFC 3339 date-time of a request (already validated by its schema) as a Date;
 * `null` (clear the field) and `undefined` (field absent) pass through.
 */
export function toDate<T extends string | null | undefined>(value: T): Date | Exclude<T, string> {
  return (typeof value === 'string' ? new Date(value) : value) as Date | Exclude<T, string>;
}

/** Encodes a keyset position as an opaque URL-safe cursor. */
export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeCursor}.
 * @throws DomainError `validation-failed` on `querystring/cursor` when it is not one.
 */
export function decodeCursor(cursor: string | undefined): KeysetPosition | undefined {
  if (cursor === undefined) return undefined;
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'string' && PG_TIMESTAMP.test(at) && typeof id === 'string' && UUID.test(id)) {
      return { at, id };
    }
  } catch {
    // falls through to the error below
  }
  throw new DomainError('validation-failed', 'querystring/cursor is not a cursor returned by this API', {
    errors: [{ field: 'querystring/cursor', message: 'is not a cursor returned by this API' }],
  });
}
