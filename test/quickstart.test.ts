/**
 * The README's quick start, run as written: `npm start` on an embedded database (ephemeral port,
 * fresh DATA_DIR), then the README's shell block itself — extracted from the README, with only its
 * `API=` line pointed at the server — checking each step's answer.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servingUrl } from './helpers/cli.js';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The shell blocks of the README's "Quick start" section, in order. */
function quickStartBlocks(): string[] {
  const section = README.split(/^## /m).find((part) => part.startsWith('Quick start'));
  if (!section) throw new Error('README has no "Quick start" section');
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

describe('README quick start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'stampede-quickstart-'));
  const env = { ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' };
  let server: ChildProcess;
  let url: string;

  beforeAll(async () => {
    const [setup] = quickStartBlocks();
    expect(setup).toContain('npm install && npm start');
    // `npm start` as the README says (it builds, then serves); npm install is the suite's own set-up.
    server = spawn('npm', ['start'], { cwd: ROOT, env, detached: true });
    url = await servingUrl(server);
  }, 240_000);

  afterAll(async () => {
    // npm runs the server as its child: stop the whole process group.
    if (server?.pid) process.kill(-server.pid, 'SIGTERM');
    await new Promise((resolve) => server?.once('exit', resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('answers every step of the README block', async () => {
    const block = quickStartBlocks()[1];
    expect(block).toBeDefined();
    const apiLine = /^API=http:\/\/localhost:3000$/m;
    expect(block).toMatch(apiLine);
    const script = [
      block!.replace(apiLine, `API=${url}`),
      'echo',
      'echo "TOKEN=$TOKEN"',
      'echo "CAMPAIGN=$CAMPAIGN"',
      'echo "COUPON=$COUPON"',
    ].join('\n');
    const { stdout } = await run('bash', ['-e', '-o', 'pipefail', '-c', script], {
      cwd: ROOT,
      env: { ...env, LOG_LEVEL: 'silent' },
      timeout: 120_000,
    });
    const lines = stdout.trim().split('\n');
    // users add, through the running server
    expect(lines[0]).toMatch(/^created admin admin@example\.com \([0-9a-f-]{36}\)$/);
    const value = (name: string) => lines.find((line) => line.startsWith(`${name}=`))?.slice(name.length + 1);
    expect(value('TOKEN')).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect(value('CAMPAIGN')).toMatch(uuid);
    expect(value('COUPON')).toMatch(uuid);
    // the redemption: 10% of 250.00 = 25.00, under the 50.00 cap
    const redemption = JSON.parse(lines[lines.length - 4]!) as Record<string, unknown>;
    expect(redemption).toMatchObject({ couponId: value('COUPON'), orderId: '9001', discountAmount: 2500 });
  }, 180_000);
});
