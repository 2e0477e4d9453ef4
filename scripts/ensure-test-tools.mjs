// Runs before `npm test`: makes sure the external tools the suite uses are installed.
// promtool (Debian package `prometheus`) checks a real /metrics scrape; chromium (Debian package
// `chromium`, at /usr/bin/chromium) runs the console's browser tests. On a fresh machine where we
// are root and apt-get exists (this project's machines), a missing one is installed; otherwise we
// stop with the command to run. PostgreSQL and Redis are servers, not installed here: tests fail
// when they cannot reach them.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const has = (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

/** The Debian packages to install: [package, is it present, what needs it]. */
const TOOLS = [
  ['prometheus', () => has('promtool', ['--version']), 'promtool for the metrics test'],
  ['chromium', () => existsSync('/usr/bin/chromium'), '/usr/bin/chromium for the browser tests'],
];

const missing = TOOLS.filter(([, present]) => !present());
if (missing.length > 0) {
  const packages = missing.map(([name]) => name);
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !has('apt-get', ['--version'])) {
    console.error(
      `missing: ${missing.map(([, , why]) => why).join('; ')}: apt-get install -y ${packages.join(' ')}`,
    );
    process.exit(1);
  }
  console.error(`pretest: installing ${packages.join(', ')} (${missing.map(([, , why]) => why).join('; ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', ...packages],
  ]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
  const still = missing.filter(([, present]) => !present());
  if (still.length > 0) {
    console.error(`still missing after apt-get: ${still.map(([, , why]) => why).join('; ')}`);
    process.exit(1);
  }
}
