/**
 * Option parsers shared by the CLI commands. Each throws commander's InvalidArgumentError, so a
 * bad value stops the command before it touches anything, with commander's one-line message:
 * `error: option '--count <n>' argument 'abc' is invalid. must be an integer from 1 to 1000000`.
 */
import { InvalidArgumentError } from 'commander';
import type { TSchema } from 'typebox';
import { isUuid } from '../db/ids.js';
import { valueChecker } from '../http/validation.js';

/** An integer option within [min, max]. */
export const integer =
  (min: number, max: number) =>
  (value: string): number => {
    const n = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    }
    return n;
  };

/** A UUID option (campaign, dead letter and user ids), lower-cased. */
export function uuid(value: string): string {
  if (!isUuid(value)) throw new InvalidArgumentError('must be a UUID');
  return value.toLowerCase();
}

/** A variadic UUID option (`--campaign <id...>`): appends to the values parsed so far. */
export function uuids(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), uuid(value)];
}

/**
 * An option held to the same schema as the request field it stands for (src/http/schemas.ts: no
 * control characters, email format, lengths...), with the same message:
 * `error: option '--prefix <text>' argument 'a\u0000' is invalid. must not contain control characters`.
 */
export function matching<T>(schema: TSchema): (value: string) => T {
  const check = valueChecker(schema);
  return (value) => {
    const result = check(value);
    if ('message' in result) throw new InvalidArgumentError(result.message);
    return result.value as T;
  };
}
