/**
 * Schemas shared by several routes: the problem body, ids, pagination. Route-specific schemas live
 * beside their routes; every TS type of a request or response is inferred from its schema.
 */
import { Type } from 'typebox';

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
 * An optional RFC 3339 date-time of a request (already validated by its schema) as a Date;
 * `null` (clear the field) and `undefined` (field absent) pass through.
 */
export function toDate<T extends string | null | undefined>(value: T): Date | Exclude<T, string> {
  return (typeof value === 'string' ? new Date(value) : value) as Date | Exclude<T, string>;
}
