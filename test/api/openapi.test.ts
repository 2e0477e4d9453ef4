/**
 * The OpenAPI document is one clients can be generated from: every operation has a unique
 * operationId, a summary and a description, problem responses per status as
 * application/problem+json, and Redocly's recommended ruleset finds no error and no warning.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';

const run = promisify(execFile);
const REDOCLY = new URL('../../node_modules/.bin/redocly', import.meta.url).pathname;

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  security?: unknown[];
  responses: Record<string, { content?: Record<string, unknown> }>;
}

describe('OpenAPI document', () => {
  const t = useTestApp('pglite');

  it('names and describes every operation and declares its problems per status', async () => {
    const document = t.app.swagger() as unknown as {
      paths: Record<string, Record<string, Operation>>;
      servers?: unknown[];
    };
    expect(document.servers?.length).toBeGreaterThan(0);
    const ids = new Set<string>();
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect(operation.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
        expect(ids.has(operation.operationId!), `${where}: duplicate operationId`).toBe(false);
        ids.add(operation.operationId!);
        expect(operation.summary, where).toBeTruthy();
        expect(operation.description, where).toBeTruthy();
        expect(operation.security, where).toBeDefined();
        const statuses = Object.keys(operation.responses);
        expect(
          statuses.some((status) => /^[45]XX$/i.test(status)),
          where,
        ).toBe(false);
        for (const status of statuses.filter((s) => Number(s) >= 400)) {
          expect(Object.keys(operation.responses[status]!.content ?? {}), `${where} ${status}`).toEqual([
            'application/problem+json',
          ]);
        }
      }
    }
    expect(ids.size).toBeGreaterThan(25);
  });

  it("passes Redocly's recommended rules with no error and no warning", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'stampede-openapi-')), 'openapi.json');
    writeFileSync(file, JSON.stringify(t.app.swagger()));
    let output: string;
    try {
      const result = await run(REDOCLY, ['lint', file, '--extends=recommended', '--format=stylish'], {
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      });
      output = result.stdout + result.stderr;
    } catch (error) {
      const failed = error as { stdout: string; stderr: string };
      throw new Error(`redocly lint failed:\n${failed.stdout}\n${failed.stderr}`);
    }
    // Stylish lines are `line:column  error|warning  rule  message`.
    expect(output.match(/^\s*\d+:\d+\s+(error|warning)\s.*$/gm) ?? []).toEqual([]);
    expect(output).toMatch(/valid/i);
  });
});
