// Builds the operator console (console/ → console/dist, then .br/.gz twins) unless console/dist is
// newer than every source it is built from, so `npm start` and the tests that serve the console
// never rebuild (and briefly empty) a current console/dist under a server that is serving it.
// `--force` builds anyway.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;
const DIST_INDEX = join(ROOT, 'console/dist/index.html');
const SOURCES = [
  'console/src',
  'console/index.html',
  'console/package.json',
  'console/vite.config.ts',
  'packages/client/src',
];

/** Newest modification time (ms) of a file, or of the files under a directory. */
function newest(path) {
  if (!existsSync(path)) return 0;
  if (!statSync(path).isDirectory()) return statSync(path).mtimeMs;
  return Math.max(
    0,
    ...readdirSync(path, { recursive: true }).map((name) => statSync(join(path, name)).mtimeMs),
  );
}

const sourcesChanged = Math.max(...SOURCES.map((source) => newest(join(ROOT, source))));
if (
  !process.argv.includes('--force') &&
  existsSync(DIST_INDEX) &&
  statSync(DIST_INDEX).mtimeMs >= sourcesChanged
) {
  process.exit(0);
}
// Production builds only: under vitest NODE_ENV is "test", which would bundle React's development build.
const env = { ...process.env, NODE_ENV: 'production' };
const run = (command, args) => execFileSync(command, args, { cwd: ROOT, stdio: 'inherit', env });
run('npm', ['run', 'build', '--silent', '-w', 'console', '--', '--logLevel', 'warn']);
run(process.execPath, ['scripts/precompress.mjs', 'console/dist']);
