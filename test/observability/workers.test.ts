/**
 * `stampede serve --workers 2` as a real process tree on PostgreSQL: both workers serve the one
 * port, `/metrics` merges their registries, SIGTERM stops everything; without DATABASE_URL more
 * than one worker is refused with a message naming it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from '../helpers/app.js';
import { sampleValue } from '../helpers/prometheus.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

interface Served {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  stderr: string[];
  exited: Promise<number | null>;
}

function serve(args: string[], env: Record<string, string>): Served {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const part of parts)
      if (part.startsWith('{')) lines.push(JSON.parse(part) as Record<string, unknown>);
  });
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, stderr, exited };
}

/** Waits until `count` log lines match, polling the collected lines (bounded). */
async function untilLogged(
  served: Served,
  predicate: (line: Record<string, unknown>) => boolean,
  count: number,
) {
  const deadline = Date.now() + 90_000;
  while (served.lines.filter(predicate).length < count) {
    if (Date.now() > deadline || served.child.exitCode !== null) {
      throw new Error(
        `expected ${count} log lines, saw ${served.lines.filter(predicate).length} of ${served.lines.length}: ${JSON.stringify(served.lines.slice(-3))}; stderr: ${served.stderr.join('')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return served.lines.filter(predicate);
}

/** GET on a fresh connection each time, so the cluster can hand it to any worker. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase('postgres');
});
afterAll(async () => {
  await database?.close();
});

describe('stampede serve --workers', () => {
  it('serves one port from two processes, merges their metrics and stops on SIGTERM', async () => {
    const served = serve(['--workers', '2'], {
      DATABASE_URL: database.url!,
      JWT_SECRET: TEST_JWT_SECRET,
      PORT: '0',
      LOG_LEVEL: 'info',
    });
    try {
      const ready = await untilLogged(served, (line) => line.msg === 'stampede is serving', 2);
      expect(new Set(ready.map((line) => line.pid)).size).toBe(2);
      const url = ready[0]!.url as string;
      expect(ready[1]!.url).toBe(url);

      const statuses = [];
      for (let i = 0; i < 20; i++) statuses.push((await get(`${url}/healthz`)).status);
      expect(statuses.every((status) => status === 200)).toBe(true);
      const handled = await untilLogged(
        served,
        (line) => line.msg === 'request completed' && line.url === '/healthz',
        20,
      );
      expect(new Set(handled.map((line) => line.pid)).size).toBe(2);

      const metrics = await get(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(
        sampleValue(metrics.body, 'stampede_http_requests_total', {
          method: 'GET',
          route: '/healthz',
          status_code: '200',
        }),
      ).toBe(20);
    } finally {
      served.child.kill('SIGTERM');
    }
    expect(await served.exited).toBe(0);
    // Three processes compile TypeScript at start: slow when the whole suite shares two cores.
  }, 120_000);

  it('refuses more than one worker on embedded PGlite, naming DATABASE_URL', async () => {
    const served = serve(['--workers', '2'], { DATA_DIR: '/tmp/stampede-workers-refused', PORT: '0' });
    expect(await served.exited).toBe(2);
    expect(served.stderr.join('')).toMatch(/DATABASE_URL: --workers 2 needs PostgreSQL/);
  });
});
