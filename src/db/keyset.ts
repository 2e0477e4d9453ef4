/**
 * Keyset pagination positions and the opaque cursors that carry them between pages: the sort
 * timestamp as PostgreSQL prints it and the row id. Repositories page with a
 * {@link KeysetPosition}; routes turn it into a cursor string and back.
 */
import { invalidField } from '../errors.js';

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

/** Encodes a keyset position as an opaque URL-safe cursor. */
export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeCursor}.
 * @param field the request field that carried it, named in the error.
 * @throws DomainError `validation-failed` on `field` when it is not one.
 */
export function decodeCursor(
  cursor: string | undefined,
  field = 'querystring/cursor',
): KeysetPosition | undefined {
  if (cursor === undefined) return undefined;
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'string' && PG_TIMESTAMP.test(at) && typeof id === 'string' && UUID.test(id)) {
      return { at, id };
    }
  } catch {
    // falls through to the error below
  }
  throw invalidField(field, 'is not a cursor returned by this API');
}
