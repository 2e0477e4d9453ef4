/** The built console (console/dist) that the server serves at /console, rebuilt when stale. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONSOLE_DIST } from '../../src/app/console.js';

const SOURCES = fileURLToPath(new URL('../../console/src/', import.meta.url));

/** Newest modification time (ms) of the files under `dir`. */
function newest(dir: string): number {
  return Math.max(
    ...readdirSync(dir, { recursive: true, encoding: 'utf8' }).map(
      (path) => statSync(join(dir, path)).mtimeMs,
    ),
  );
}

/** Whether console/dist is newer than every file of console/src. */
function built(): boolean {
  const index = `${CONSOLE_DIST}index.html`;
  return existsSync(index) && statSync(index).mtimeMs >= newest(SOURCES);
}

/**
 * Builds the console (`npm run build:console`) unless console/dist is newer than console/src.
 * Vite refuses a second build of the project while one runs ("Found another Vite build
 * process"): when another test file's build holds that lock, this waits for it (up to 3 min) and
 * looks again instead of failing.
 */
export async function ensureConsoleBuilt(): Promise<void> {
  for (let waited = 0; !built(); waited += 2) {
    try {
      // vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
      execFileSync('npm', ['run', 'build:console', '--silent'], {
        stdio: ['ignore', 'inherit', 'pipe'],
        env: { ...process.env, NODE_ENV: 'production' },
      });
      return;
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? '');
      if (!stderr.includes('Found another Vite') || waited >= 180) {
        process.stderr.write(stderr);
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}
