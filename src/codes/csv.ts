/**
 * CSV cells that a spreadsheet opens as text, never as a formula (CSV injection, OWASP:
 * https://owasp.org/www-community/attacks/CSV_Injection): a cell starting with `=`, `+`, `-`,
 * `@`, a tab or a carriage return gets a leading single quote, and a cell holding a comma, a
 * double quote or a line break is quoted (RFC 4180).
 */

/** Characters a spreadsheet reads as the start of a formula. */
export const FORMULA_START = /^[=+\-@\t\r]/;

/** `value` as one CSV cell, neutralised and quoted as needed. */
export function csvCell(value: string): string {
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
