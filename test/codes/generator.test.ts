import { describe, expect, it } from 'vitest';
import {
  codeOptions,
  codeOptionsProblems,
  DEFAULT_CHARSET,
  generateCodes,
} from '../../src/codes/generator.js';

describe('code generator', () => {
  it('makes 16-character codes of digits and letters by default', () => {
    const codes = generateCodes(codeOptions({}), 2000);
    expect(codes).toHaveLength(2000);
    for (const code of codes) expect(code).toMatch(/^[0-9A-Za-z]{16}$/);
  });

  it('puts the prefix before the random part and uses only the charset', () => {
    const codes = generateCodes(codeOptions({ prefix: 'XMAS-', length: 8, charset: 'ABCDEFGHJK' }), 500);
    for (const code of codes) expect(code).toMatch(/^XMAS-[A-HJK]{8}$/);
  });

  it('draws every character of the charset about equally often (no modulo bias)', () => {
    // 62 does not divide 256: a modulo mapping would favour the first 8 characters by 1/31.
    const codes = generateCodes(codeOptions({}), 40_000);
    const counts = new Map<string, number>();
    for (const code of codes) for (const char of code) counts.set(char, (counts.get(char) ?? 0) + 1);
    const expected = (40_000 * 16) / 62;
    const first8 = [...DEFAULT_CHARSET.slice(0, 8)].reduce((sum, c) => sum + counts.get(c)!, 0) / 8;
    const rest = [...DEFAULT_CHARSET.slice(8)].reduce((sum, c) => sum + counts.get(c)!, 0) / 54;
    expect(counts.size).toBe(62);
    // With bias the first 8 would be ~3.2% above the rest; sampling noise here is ~0.35%.
    expect(Math.abs(first8 - rest) / expected).toBeLessThan(0.015);
  });

  it.each([
    ['a repeated character', { charset: 'AABCDEFGHIJ' }, 'body/charset'],
    ['fewer than 10 characters', { charset: 'ABCDEFGHI' }, 'body/charset'],
    ['a character outside the alphabet', { charset: 'ABCDEFGHIJ,' }, 'body/charset'],
    ['a prefix with a space', { prefix: 'A B' }, 'body/prefix'],
    ['a code space too small for the count', { length: 4, charset: '0123456789' }, 'body/length'],
  ])('refuses %s', (_label, input, field) => {
    expect(codeOptionsProblems(codeOptions(input), 1000).map((p) => p.field)).toContain(field);
  });

  it('accepts the defaults for ten million codes', () => {
    expect(codeOptionsProblems(codeOptions({}), 10_000_000)).toEqual([]);
  });
});
