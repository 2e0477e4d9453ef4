/**
 * The `stampede simulate` command as a user runs it: a child process, the report on stdout and the
 * exit code. A tiny run on the in-memory PGlite keeps it quick.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { SimulationReport } from '../../src/simulate/report.js';

const run = promisify(execFile);
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

/** Runs `stampede <args>` with tsx; resolves with the exit code and outputs. */
async function stampede(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('stampede simulate', () => {
  it('exits 0 and prints a JSON report whose invariants held', async () => {
    const result = await stampede([
      'simulate',
      '--users',
      '60',
      '--stock',
      '10',
      '--redeem',
      '4',
      '--seed',
      '5',
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as SimulationReport;
    expect(report).toMatchObject({ ok: true, violations: [], truth: 'database' });
    expect(report.scenario).toMatchObject({ users: 60, stock: 10, seed: 5, strategy: 'db-atomic' });
    expect(report.figures).toMatchObject({ issued: 10, overIssued: 0 });
  });

  it('rejects --url without --token before doing anything', async () => {
    const result = await stampede(['simulate', '--url', 'http://127.0.0.1:9']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--url needs --token');
  });

  it('refuses a Redis strategy in-process with a message that says how to run it', async () => {
    const result = await stampede(['simulate', '--strategy', 'redis-gate']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('simulate redis-gate with --url');
  });
});
