/**
 * The `stampede simulate` command as a user runs it: a child process, the report on stdout and the
 * exit code. The run goes to a test database through DATABASE_URL (without JWT_SECRET, which the
 * in-process server does not need), which also spares the child PGlite's start-up.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulationReport } from '../../src/simulate/report.js';
import { runStampede } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { dropPrefix, openTestRedis, testRedisConfig } from '../support/redis.js';

const stampede = (args: string[], env: NodeJS.ProcessEnv = {}) => runStampede(args, env);

describe('stampede simulate', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await database?.close();
  });

  it('exits 0 and prints a JSON report whose invariants held, on DATABASE_URL alone', async () => {
    const env = { DATABASE_URL: database.url };
    const result = await stampede(
      ['simulate', '--users', '60', '--stock', '10', '--redeem', '4', '--seed', '5', '--json'],
      env,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as SimulationReport;
    expect(report).toMatchObject({ ok: true, violations: [], truth: 'database' });
    expect(report.target.engine).toBe('postgres');
    expect(report.scenario).toMatchObject({ users: 60, stock: 10, seed: 5, strategy: 'db-batch' });
    expect(report.figures).toMatchObject({ issued: 10, overIssued: 0 });
  });

  it('writes the JSON report to --output beside the text report, on the embedded database', async () => {
    const output = join(mkdtempSync(join(tmpdir(), 'stampede-simulate-')), 'report.json');
    const result = await stampede([
      'simulate',
      '--users',
      '40',
      '--stock',
      '8',
      '--redeem',
      '3',
      '--output',
      output,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/target: in-process .* \(engine pglite, strategy db-batch\)/);
    const report = JSON.parse(readFileSync(output, 'utf8')) as SimulationReport;
    expect(report).toMatchObject({ ok: true, truth: 'database', target: { engine: 'pglite' } });
    expect(report.figures).toMatchObject({ issued: 8, overIssued: 0, serverErrors: 0 });
  });

  it('runs redis-gate end to end: every admitted claim persisted, with the drain time reported', async () => {
    const redisConfig = testRedisConfig();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL: redisConfig.url,
      REDIS_KEY_PREFIX: redisConfig.keyPrefix,
    };
    const result = await stampede(
      ['simulate', '--strategy', 'redis-gate', '--users', '80', '--stock', '20', '--redeem', '5', '--json'],
      env,
    );
    const redis = await openTestRedis(redisConfig);
    await dropPrefix(redis);
    await redis.close();
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as SimulationReport;
    expect(report).toMatchObject({ ok: true, violations: [], truth: 'database' });
    expect(report.scenario.strategy).toBe('redis-gate');
    expect(report.figures).toMatchObject({
      issued: 20,
      acknowledged: 20,
      pending: 20,
      missingAcknowledged: 0,
    });
    expect(report.figures.drainMs).toEqual(expect.any(Number));
  });

  it('rejects --url without --token, and a Redis strategy without Redis, before doing anything', async () => {
    const [noToken, redis] = await Promise.all([
      stampede(['simulate', '--url', 'http://127.0.0.1:9']),
      stampede(['simulate', '--strategy', 'redis-gate']),
    ]);
    expect(noToken.code).not.toBe(0);
    expect(noToken.stderr).toContain('--url needs --token');
    expect(redis.code).not.toBe(0);
    expect(redis.stderr).toContain('--strategy redis-gate needs REDIS_URL or REDIS_CLUSTER_NODES');
  });
});
