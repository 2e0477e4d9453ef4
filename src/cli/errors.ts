/**
 * What a CLI user sees when a command fails: one line on stderr and an exit code, never a stack
 * trace (unless LOG_LEVEL is debug or trace).
 *
 * | error                         | exit | line                                                       |
 * | ----------------------------- | ---- | ---------------------------------------------------------- |
 * | ConfigError                   | 2    | `configuration error: PORT: must be ...`                   |
 * | SettingError                  | 1    | `cannot reach PostgreSQL at DATABASE_URL (...): ...`       |
 * | DomainError                   | 1    | `not-found: campaign ... does not exist`, fields as options |
 * | anything else                 | 1    | `error: <message>`                                         |
 */
import { ConfigError } from '../config.js';
import { DomainError, SettingError } from '../errors.js';

/** The line and exit code for `error`. */
export function describeCliError(error: unknown): { line: string; exitCode: number } {
  if (error instanceof ConfigError) return { line: `configuration error: ${error.message}`, exitCode: 2 };
  if (error instanceof SettingError) return { line: error.message, exitCode: 1 };
  if (error instanceof DomainError) return { line: domainLine(error), exitCode: 1 };
  const message = error instanceof Error ? error.message : String(error);
  return { line: `error: ${message.split('\n')[0]}`, exitCode: 1 };
}

/**
 * A domain error as one line. Field errors of a request schema (`body/count`) are named as the
 * options that carry them (`--count`), since the CLI user typed options, not a body.
 */
function domainLine(error: DomainError): string {
  if (error.code === 'validation-failed' && error.errors && error.errors.length > 0) {
    const fields = error.errors.map(({ field, message }) => `option ${optionName(field)} ${message}`);
    return `error: ${fields.join('; ')}`;
  }
  return `${error.code}: ${error.message}`;
}

/** `body/perUserLimit` → `--per-user-limit`; `body/options/length` → `--length`. */
export function optionName(field: string): string {
  const last = field.split('/').pop() ?? field;
  return `--${last.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}
