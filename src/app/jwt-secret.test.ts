import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { resolveJwtSecret } from './jwt-secret.js';

describe('resolveJwtSecret', () => {
  it('generates the embedded JWT secret once and keeps it private in the data dir', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stampede-config-'));
    const config = loadConfig({ DATA_DIR: dataDir });
    const first = resolveJwtSecret(config);
    const second = resolveJwtSecret(config);
    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(second.jwtSecret).toBe(first.jwtSecret);
    expect(readFileSync(join(dataDir, 'jwt-secret'), 'utf8').trim()).toBe(first.jwtSecret);
    expect(statSync(join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
  });
});
