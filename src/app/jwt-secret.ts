/**
 * The JWT secret of a process: the configured `JWT_SECRET`, or in embedded mode a random secret
 * generated once and kept in `<DATA_DIR>/jwt-secret` (mode 0600), so tokens survive restarts of
 * the embedded server without any setup.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';

/** Returns the config with its JWT secret, creating the embedded one on first use. */
export function resolveJwtSecret(config: Config): Config & { jwtSecret: string } {
  if (config.jwtSecret) return { ...config, jwtSecret: config.jwtSecret };
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'jwt-secret');
  try {
    return { ...config, jwtSecret: readFileSync(file, 'utf8').trim() };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return { ...config, jwtSecret: secret };
}
