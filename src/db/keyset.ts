/**
 * Keyset pagination positions and the opaque cursors that carry them between pages: the sort
 * timestamp as PostgreSQL prints it and the row id. Repositories page with a
 * {@link KeysetPosition}; routes turn it into a cursor string and back.
 */
import { invalidField } from '../errors.js';
import { isUuid } from './ids.js';

/**
 * A keyset position: the sort timestamp as PostgreSQL text (with its microseconds, e.g.
 * `2026-11-22 05:38:07.123456+00`) and the row id. A JS Date would keep only milliseconds and
 * skip or repeat rows sharing one, such as a batch of generated codes.
 */
export interface KeysetPosition {
  at: string;
  id: string;
}

/** PostgreSQL's ISO timestamptz output: date, time, fraction, offset hours and minutes. */
const PG_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-](\d{2})(?::(\d{2}))?$/;

/**
 * True when a {@link PG_TIMESTAMP} match names a real instant: a date that exists, a time of
 * day without leap second, an offset PostgreSQL can print (up to ±15:59), a year from 0100 to
 * 9999 (the range requests may carry, src/http/validation.ts). Such a cursor can only be forged,
 * but PostgreSQL would answer it with an error (SQLSTATE 22008), never a page.
 */
function isRealTimestamp(match: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [1, 2, 3, 4, 5, 6, 8, 9].map(
    (i) => Number(match[i] ?? 0),
  ) as number[];
  const at = new Date(Date.UTC(2000, month! - 1, day!, hour, minute, second));
  at.setUTCFullYear(year!);
  return (
    year! >= 100 &&
    at.getUTCFullYear() === year &&
    at.getUTCMonth() === month! - 1 &&
    at.getUTCDate() === day &&
    at.getUTCHours() === hour &&
    at.getUTCMinutes() === minute &&
    at.getUTCSeconds() === second &&
    offsetHours! <= 15 &&
    offsetMinutes! <= 59
  );
}

/** Encodes a keyset position as an opaque URL-safe cursor. */
export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeCursor} and checks its timestamp is a real instant, so a
 * forged cursor is a 400 before any query.
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
    const timestamp = typeof at === 'string' ? PG_TIMESTAMP.exec(at) : null;
    if (timestamp && isRealTimestamp(timestamp) && typeof id === 'string' && isUuid(id)) {
      return { at: at as string, id };
    }
  } catch {
    // falls through to the error below
  }
  throw invalidField(field, 'is not a cursor returned by this API');
}
