/**
 * Request validation with Ajv, strict where it matters: JSON bodies are never coerced ("5" is
 * not 5) and unknown body fields are rejected rather than silently dropped; path parameters,
 * query strings and headers (always strings on the wire) are coerced to the schema's types.
 * All errors of a request are reported at once, each naming its field.
 */
import { Ajv, type ErrorObject, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { TSchema } from 'typebox';
import { SAFE_TEXT_PATTERN } from './schemas.js';

function makeAjv(options: Options) {
  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    useDefaults: true,
    removeAdditional: false,
    ...options,
  });
  addFormats.default(ajv);
  ajv.addFormat('date-time', { type: 'string', validate: isStoredInstant });
  return ajv;
}

/** RFC 3339 `date-time` (section 5.6; `T`/`Z` in either case, a space for `T` as its note allows). */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
/**
 * The instants a request may carry. PostgreSQL's timestamptz reaches 4713 BC to 294276 AD
 * (https://www.postgresql.org/docs/current/datatype-datetime.html), but RFC 3339 years have four
 * digits and the timestamps read back are parsed by `new Date(text)`, which turns years below
 * 0100 into 19xx/20xx: within these bounds everything stored comes back unchanged.
 */
const EARLIEST_MS = Date.UTC(100, 0, 1);
const LATEST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * True when `value` is an RFC 3339 date-time naming a real instant the database stores and
 * returns unchanged: a calendar date that exists (no month 13, no February 30), hours 00-23,
 * no leap second (`:60`, which JavaScript dates cannot hold), an offset within ±23:59, and an
 * instant from 0100-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z. Every value it accepts parses
 * with `new Date(value)`.
 */
export function isStoredInstant(value: string): boolean {
  const match = RFC3339.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as number[];
  const calendar = new Date(Date.UTC(year!, month! - 1, day!));
  calendar.setUTCFullYear(year!); // Date.UTC maps years 0-99 to 1900-1999
  if (calendar.getUTCMonth() !== month! - 1 || calendar.getUTCDate() !== day!) return false;
  if (hour! > 23 || minute! > 59 || second! > 59) return false;
  if (match[8] && (Number(match[9]) > 23 || Number(match[10]) > 59)) return false;
  const instant = Date.parse(value);
  return instant >= EARLIEST_MS && instant <= LATEST_MS;
}

/**
 * The message of one validation issue, as a request's problem and a CLI error show it: Ajv's own
 * words, except for the safe-text pattern, whose regular expression would tell a person nothing.
 */
export function issueMessage(issue: ErrorObject): string {
  if (issue.keyword === 'pattern' && (issue.params as { pattern?: string }).pattern === SAFE_TEXT_PATTERN) {
    return 'must not contain control characters';
  }
  return issue.message ?? 'is invalid';
}

/** Command-line values: strings, coerced to the schema's type as query strings are. */
const commandLine = makeAjv({ coerceTypes: true });

/**
 * A checker of single values against `schema`, with the request validator's formats and messages,
 * so a CLI option is held to the same rules as the request field it stands for. The value is
 * coerced as a query string is ("16" → 16 for an integer schema).
 * @returns the coerced value, or the message of the first issue.
 */
export function valueChecker(schema: TSchema): (value: string) => { value: unknown } | { message: string } {
  const check = commandLine.compile({ type: 'object', properties: { value: schema }, required: ['value'] });
  return (value) => {
    const holder = { value: value as unknown };
    if (check(holder)) return { value: holder.value };
    return { message: issueMessage(check.errors![0]!) };
  };
}

/** The validator compiler of every route (plugin `stampede-validation`). */
export const validation = fp(
  async (app: FastifyInstance) => {
    const bodies = makeAjv({ coerceTypes: false });
    const strings = makeAjv({ coerceTypes: 'array' });
    app.setValidatorCompiler(({ schema, httpPart }) =>
      (httpPart === 'body' ? bodies : strings).compile(schema as object),
    );
  },
  { name: 'stampede-validation' },
);
