/**
 * Every installed package runs on the oldest Node.js that package.json's `engines` promises.
 *
 * npm only warns (EBADENGINE) when a dependency declares a newer Node than the one installing it, so a
 * routine upgrade can quietly drop Node 20 support; this test turns that warning into a failure. It reads
 * package-lock.json (the exact tree `npm ci` installs, production and development packages alike) and
 * checks each package's declared `engines.node` range against the lowest version our own range admits.
 */
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

interface LockedPackage {
  version?: string;
  engines?: Record<string, string> | string[];
}

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, LockedPackage>;
};

describe('engines', () => {
  it('every locked package supports the lowest Node.js version package.json admits', () => {
    const floor = semver.minVersion(pkg.engines.node);
    expect(floor?.version).toBe('20.19.0');
    const refused: string[] = [];
    let checked = 0;
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = !entry.engines || Array.isArray(entry.engines) ? undefined : entry.engines.node;
      if (!path || !range) continue;
      checked += 1;
      if (!semver.satisfies(floor!, range, { includePrerelease: true }))
        refused.push(`${path}@${entry.version} wants node ${range}`);
    }
    expect(checked).toBeGreaterThan(100);
    expect(refused).toEqual([]);
  });
});
