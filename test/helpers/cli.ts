/** Running the `stampede` command line from tests, as a user runs it: a child process. */
import { type ChildProcess, execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** The CLI's entry point, run from source with tsx. */
export const STAMPEDE_MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

export interface CliOutcome {
  /** The exit code (0 on success). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `stampede <args>` with only PATH, `LOG_LEVEL=silent` and `env` in its environment;
 * resolves with its exit code and outputs, whatever the code.
 * @param options.timeoutMs kills the command after this long (none by default).
 */
export async function runStampede(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  options: { timeoutMs?: number } = {},
): Promise<CliOutcome> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', STAMPEDE_MAIN, ...args], {
      env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', ...env },
      ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as CliOutcome;
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/**
 * The URL a starting `stampede serve` (or `npm start`) logs once it serves (its
 * "stampede is serving" line, LOG_LEVEL info or lower).
 * @throws Error with everything the process wrote when it exits first.
 */
export function servingUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"url":"(http:\/\/[^"]+)".*"msg":"stampede is serving"/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}: ${output}`)));
  });
}
