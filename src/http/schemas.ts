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

/** Encodes a keyset position (a sort timestamp and an id) as an opaque URL-safe cursor. */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeCursor}.
 * @throws DomainError `validation-failed` on `querystring/cursor` when it is not one.
 */
export function decodeCursor(cursor: string | undefined): { at: Date; id: string } | undefined {
  if (cursor === undefined) return undefined;
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const date = new Date(at);
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    if (typeof at === 'string' && !Number.isNaN(date.getTime()) && typeof id === 'string' && uuid.test(id)) {
      return { at: date, id };
    }
  } catch {
    // falls through to the error below
  }
  throw new DomainError('validation-failed', 'querystring/cursor is not a cursor returned by this API', {
    errors: [{ field: 'querystring/cursor', message: 'is not a cursor returned by this API' }],
  });
}
