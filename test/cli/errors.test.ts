/**
 * Every CLI misuse gives one clear line on stderr and the right exit code, never a stack trace:
 * option values checked by commander before anything runs, unknown campaigns named, and
 * unreachable dependencies named by the setting to fix.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliOutcome, runStampede } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testRedisConfig } from '../support/redis.js';

/** Runs `stampede <args>` (60 s at most). */
const stampede = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runStampede(args, env, { timeoutMs: 60_000 });

/** Asserts a failure of exactly one stderr line matching `pattern`, without a stack trace. */
function expectOneLine(outcome: CliOutcome, exitCode: number, pattern: RegExp): void {
  const lines = outcome.stderr.trim().split('\n');
  expect(lines, outcome.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(outcome.stderr).not.toMatch(/\n\s+at /);
  expect(outcome.code).toBe(exitCode);
}

describe('stampede CLI errors', () => {
  let database: TestDatabase;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    env = { DATABASE_URL: database.url, JWT_SECRET: 'x'.repeat(32) };
  });
  afterAll(async () => {
    await database?.close();
  });

  it('prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const outcome = await stampede(['--version']);
    expect(outcome.code).toBe(0);
    expect(outcome.stdout.trim()).toBe(version);
  });

  it.each([
    [['codes', 'generate', '--campaign', 'not-a-uuid', '--count', '5'], /'--campaign <id>'.*must be a UUID/],
    [
      ['codes', 'generate', '--campaign', randomUUID(), '--count', 'abc'],
      /'--count <n>'.*must be an integer/,
    ],
    [['dead-letters', 'list', '--limit', 'abc'], /'--limit <n>'.*must be an integer/],
    [['reconcile', '--campaign', 'x'], /'--campaign <id\.\.\.>'.*must be a UUID/],
    [['worker', '--concurrency', '0'], /'--concurrency <n>'.*from 1 to 64/],
    [['simulate', '--strategy', 'fastest'], /'--strategy <name>'.*Allowed choices are db-atomic/],
    // String options obey the rules of the request fields they stand for (src/http/schemas.ts).
    [
      ['codes', 'generate', '--campaign', randomUUID(), '--count', '5', '--prefix', 'A\u0001B'],
      /'--prefix <text>'.*must not contain control characters/,
    ],
    [
      ['codes', 'generate', '--campaign', randomUUID(), '--count', '5', '--length', '2'],
      /'--length <n>'.*must be >= 4/,
    ],
    [
      ['users', 'add', '--email', 'not-an-email', '--password', 'long-enough'],
      /'--email <email>'.*must match format "email"/,
    ],
    // The refused password itself is never printed.
    [
      ['users', 'add', '--email', 'a@example.com', '--password', 'short'],
      /^error: option '--password <password>' must NOT have fewer than 8 characters$/,
    ],
  ])('refuses %j before touching anything', async (args, pattern) => {
    expectOneLine(await stampede(args, env), 1, pattern);
  });

  it('names an unknown campaign (codes generate, reconcile)', async () => {
    const id = randomUUID();
    expectOneLine(
      await stampede(['codes', 'generate', '--campaign', id, '--count', '5'], env),
      1,
      new RegExp(`^not-found: campaign ${id} does not exist$`),
    );
    const redis = testRedisConfig();
    expectOneLine(
      await stampede(['reconcile', '--campaign', id], { ...env, REDIS_URL: redis.url }),
      1,
      new RegExp(`^not-found: campaign ${id} not found$`),
    );
  });

  it('names DATABASE_URL and its address when PostgreSQL refuses', async () => {
    const port = await freePort();
    const outcome = await stampede(['migrate'], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/test`,
      JWT_SECRET: 'x'.repeat(32),
    });
    expectOneLine(
      outcome,
      1,
      new RegExp(
        `^cannot reach PostgreSQL at DATABASE_URL \\(127\\.0\\.0\\.1:${port}/test\\): connection refused$`,
      ),
    );
  });

  it('names REDIS_URL and its address when Redis refuses', async () => {
    const port = await freePort();
    const outcome = await stampede(['dead-letters', 'retry', '--all'], {
      ...env,
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    expectOneLine(
      outcome,
      1,
      new RegExp(`^cannot reach Redis at REDIS_URL \\(127\\.0\\.0\\.1:${port}\\): connection refused$`),
    );
  });

  describe('serve', () => {
    let taken: Server;
    let port: number;
    beforeAll(async () => {
      taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      port = (taken.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise((resolve) => taken.close(resolve));
    });

    it('says which PORT is in use', async () => {
      const outcome = await stampede(['serve'], { ...env, PORT: String(port) });
      expectOneLine(outcome, 1, new RegExp(`^PORT ${port} is in use \\(set PORT\\)$`));
    });

    it('checks HOST before opening the database', async () => {
      // The database is unreachable too: HOST must be the one reported, since it is checked first.
      const outcome = await stampede(['serve'], {
        HOST: 'bogus.invalid',
        DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/test`,
        JWT_SECRET: 'x'.repeat(32),
      });
      expectOneLine(outcome, 1, /^HOST bogus\.invalid cannot be resolved \(set HOST\)$/);
    });
  });

  it('reports a configuration error with exit code 2', async () => {
    expectOneLine(await stampede(['migrate'], { PORT: 'eighty' }), 2, /^configuration error: PORT: /);
  });
});
