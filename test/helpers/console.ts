/** The built console (console/dist) that the server serves at /console, built once when missing. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CONSOLE_DIST } from '../../src/app/console.js';

/** Builds the console (`npm run build:console`) unless console/dist/index.html exists. */
export function ensureConsoleBuilt(): void {
  if (existsSync(`${CONSOLE_DIST}index.html`)) return;
  execFileSync('npm', ['run', 'build:console', '--silent'], { stdio: 'inherit' });
}
