// Runs before `npm test`: checks that the external tools the suite uses are installed, and stops
// with the exact command to install them when one is missing (it never installs anything itself;
// `.ci/run` does). promtool (Debian package `prometheus`) checks a real /metrics scrape; Debian's
// chromium drives the console's browser tests.
// PostgreSQL and Redis are servers, not tools: tests fail when they cannot reach them.
import { spawnSync } from 'node:child_process';

const has = (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

/** [command, its version flag, the Debian package that provides it] */
const TOOLS = [
  ['promtool', '--version', 'prometheus'],
  ['/usr/bin/chromium', '--version', 'chromium'], // the console's browser tests (test/browser)
  ['jq', '--version', 'jq'], // the README's quick start, run as written (test/quickstart.test.ts)
];

const missing = TOOLS.filter(([command, flag]) => !has(command, [flag]));
if (missing.length > 0) {
  const packages = missing.map(([, , pkg]) => pkg).join(' ');
  console.error(
    `missing for the test suite: ${missing.map(([command]) => command).join(', ')}\n` +
      `install with: apt-get install -y --no-install-recommends ${packages}`,
  );
  process.exit(1);
}
