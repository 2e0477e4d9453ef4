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

/** Builds the console (`npm run build:console`) unless console/dist is newer than console/src. */
export function ensureConsoleBuilt(): void {
  const index = `${CONSOLE_DIST}index.html`;
  if (existsSync(index) && statSync(index).mtimeMs >= newest(SOURCES)) return;
  // vitest sets NODE_ENV=test, which would make Vite bundle React's development build.
  execFileSync('npm', ['run', 'build:console', '--silent'], {
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  });
}
