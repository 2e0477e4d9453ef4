import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('gives the embedded defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      issuanceStrategy: 'db-batch',
      logLevel: 'info',
    });
    expect(config.dataDir).toMatch(/data$/);
  });

  it('parses numbers and enumerations from strings', () => {
    const config = loadConfig({ PORT: '8080', ISSUANCE_STRATEGY: 'db-lock', LOG_LEVEL: 'warn' });
    expect(config).toMatchObject({ port: 8080, issuanceStrategy: 'db-lock', logLevel: 'warn' });
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ ISSUANCE_STRATEGY: 'optimistic' }, 'ISSUANCE_STRATEGY'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ DATABASE_URL: 'postgres://localhost/db' }, 'JWT_SECRET'],
  ])('names the bad variable in %o', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^${variable}: `));
  });

  it('lists the allowed values of an enumeration and never echoes a secret', () => {
    expect(() => loadConfig({ ISSUANCE_STRATEGY: 'x' })).toThrow(
      /db-atomic, db-lock, redis-lock, redis-gate/,
    );
    expect(() => loadConfig({ JWT_SECRET: 'tiny-secret' })).not.toThrow(/tiny-secret/);
  });
});
