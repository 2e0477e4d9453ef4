// Runs before `npm test`: makes sure the external tools the suite uses are installed.
// promtool (Debian package `prometheus`) checks a real /metrics scrape. On a fresh machine where we
// are root and apt-get exists (this project's machines), it is installed; otherwise we stop with
// the command to run. PostgreSQL and Redis are servers, not installed here: tests fail when they
// cannot reach them.
import { spawnSync } from 'node:child_process';

const has = (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

if (!has('promtool', ['--version'])) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || !has('apt-get', ['--version'])) {
    console.error(
      'promtool is missing: install the Debian package prometheus (apt-get install -y prometheus)',
    );
    process.exit(1);
  }
  console.error('pretest: installing promtool (Debian package prometheus) for the metrics test');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', 'prometheus'],
  ]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
  if (!has('promtool', ['--version'])) {
    console.error('promtool is still missing after installing prometheus');
    process.exit(1);
  }
}
