/**
 * Coupon code generation from a cryptographic random source (node:crypto `randomBytes`), without
 * modulo bias: a random byte b is used only when b < 256 − (256 mod n) for a charset of n
 * characters, and then maps to charset[b mod n]; other bytes are drawn again (rejection sampling).
 *
 * Defaults follow seed 004: 16 characters of digits and letters (62 characters, about 95 bits of
 * randomness per code). Options are validated by {@link codeOptionsProblems}; every problem names
 * the request field at fault. No code may start with a character a spreadsheet reads as a formula
 * (the CSV export neutralises such cells too): the prefix must not start with one, and without a
 * prefix the charset must not hold one.
 */
import { randomBytes } from 'node:crypto';
import { type FieldError, invalidField } from '../errors.js';
import { FORMULA_START } from './csv.js';

export const DEFAULT_CHARSET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const DEFAULT_CODE_LENGTH = 16;
/** Characters allowed in a charset or prefix: URL-, CSV- and shell-safe. */
export const CODE_ALPHABET = /^[0-9A-Za-z_-]*$/;
export const MIN_CHARSET_SIZE = 10;
/**
 * The code space must hold a million times the codes requested: a guesser then needs about a
 * million tries per code found (and collisions stay rare), where 4 digits for 10 codes fell in
 * about 2,000 guesses (issue 12).
 */
export const MIN_SPACE_PER_CODE = 1_000_000;
/** A character a spreadsheet reads as the start of a formula (src/codes/csv.ts). */
const FORMULA_CHARACTER = /[=+\-@\t\r]/;
const FORMULA_MESSAGE =
  'must not let a code start with "=", "+", "-" or "@": spreadsheets read it as a formula';

export interface CodeOptions {
  /** Characters of the random part (after the prefix). */
  length: number;
  charset: string;
  prefix: string;
}

/** The request's code options with defaults applied. */
export function codeOptions(input: { length?: number; charset?: string; prefix?: string }): CodeOptions {
  return {
    length: input.length ?? DEFAULT_CODE_LENGTH,
    charset: input.charset ?? DEFAULT_CHARSET,
    prefix: input.prefix ?? '',
  };
}

/** The problems of `options` for generating `count` codes, as field errors under `body/`; empty when fine. */
export function codeOptionsProblems(options: CodeOptions, count: number): FieldError[] {
  const problems: FieldError[] = [];
  const { charset, prefix, length } = options;
  if (!CODE_ALPHABET.test(charset)) {
    problems.push({ field: 'body/charset', message: 'may contain only 0-9, A-Z, a-z, "_" and "-"' });
  } else if (new Set(charset).size !== charset.length) {
    problems.push({ field: 'body/charset', message: 'must not repeat a character' });
  } else if (charset.length < MIN_CHARSET_SIZE) {
    problems.push({ field: 'body/charset', message: `must have at least ${MIN_CHARSET_SIZE} characters` });
  } else if (charset.length ** length < count * MIN_SPACE_PER_CODE) {
    problems.push({
      field: 'body/length',
      message: `is too short: ${charset.length}^${length} possible codes is less than 10^6 × ${count}, so a guesser would find one of them in under a million tries`,
    });
  }
  if (!CODE_ALPHABET.test(prefix)) {
    problems.push({ field: 'body/prefix', message: 'may contain only 0-9, A-Z, a-z, "_" and "-"' });
  } else if (FORMULA_START.test(prefix)) {
    problems.push({ field: 'body/prefix', message: FORMULA_MESSAGE });
  } else if (prefix === '' && FORMULA_CHARACTER.test(charset)) {
    problems.push({ field: 'body/charset', message: `${FORMULA_MESSAGE} (give a prefix, or leave "-" out)` });
  }
  return problems;
}

/** Throws the first problem of {@link codeOptionsProblems} as `validation-failed`. */
export function assertCodeOptions(options: CodeOptions, count: number): void {
  const [first] = codeOptionsProblems(options, count);
  if (first) throw invalidField(first.field, first.message);
}

/** `count` random codes: `prefix` + `length` characters of `charset`. Duplicates are possible (rare). */
export function generateCodes(options: CodeOptions, count: number): string[] {
  const { charset, length, prefix } = options;
  const n = charset.length;
  const limit = 256 - (256 % n);
  const codes: string[] = new Array(count);
  // Draw bytes in bulk: the expected need is count × length × 256/limit; refill when short.
  let pool = randomBytes(Math.ceil((count * length * 256) / limit) + 64);
  let at = 0;
  const chars = new Array<string>(length);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < length; ) {
      if (at === pool.length) {
        pool = randomBytes(Math.max(64, (count - i) * length));
        at = 0;
      }
      const byte = pool[at++]!;
      if (byte < limit) chars[j++] = charset[byte % n]!;
    }
    codes[i] = prefix + chars.join('');
  }
  return codes;
}
