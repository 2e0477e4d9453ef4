/**
 * One writer per embedded data directory, with real processes: a second `serve` refuses to start
 * and names the holder; CLI commands run through the serving process's relay and the server sees
 * their rows at once; a server killed with `kill -9` leaves a lock that the next one takes over,
 * with every row intact; without a server, commands open the directory themselves.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runStampede, STAMPEDE_MAIN, servingUrl } from '../helpers/cli.js';

describe('DATA_DIR has one writer', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'stampede-datadir-'));
  const env = { PATH: process.env.PATH, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' };
  const servers: ChildProcess[] = [];

  afterAll(async () => {
    for (const server of servers) server.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Starts `stampede serve` and resolves with its URL once it serves. */
  async function serve(): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', STAMPEDE_MAIN, 'serve'], { env });
    servers.push(child);
    return { child, url: await servingUrl(child) };
  }

  /** Runs `stampede <args>` on the same DATA_DIR (90 s at most). */
  const stampede = (args: string[]) =>
    runStampede(args, { ...env, LOG_LEVEL: 'silent' }, { timeoutMs: 90_000 });

  async function login(url: string, email: string, password: string): Promise<string | undefined> {
    const response = await fetch(`${url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    return response.ok ? ((await response.json()) as { accessToken: string }).accessToken : undefined;
  }

  async function issuedCount(url: string, token: string, campaignId: string): Promise<number> {
    const response = await fetch(`${url}/v1/campaigns/${campaignId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return ((await response.json()) as { issuedCount: number }).issuedCount;
  }

  let campaignId: string;

  it('runs commands through the server, refuses a second server, and loses nothing', async () => {
    const first = await serve();
    // Racing: an admin added and a second server started while the first serves.
    const [added, second] = await Promise.all([
      stampede([
        'users',
        'add',
        '--email',
        'admin@example.com',
        '--password',
        'admin-password',
        '--role',
        'admin',
      ]),
      stampede(['serve']),
    ]);
    expect(added.stdout).toMatch(/^created admin admin@example\.com/);
    expect(second.code).toBe(1);
    expect(second.stderr.trim()).toBe(
      `DATA_DIR (${dataDir}) is in use by \`stampede serve\` (pid ${first.child.pid}): stop it, or set another DATA_DIR`,
    );

    // The running server sees the new admin at once.
    const token = await login(first.url, 'admin@example.com', 'admin-password');
    expect(token).toBeDefined();
    const created = await fetch(`${first.url}/v1/campaigns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Codes',
        totalQuantity: 5000,
        perUserLimit: 1,
        status: 'active',
        discount: { type: 'fixed', amount: 100 },
      }),
    });
    campaignId = ((await created.json()) as { id: string }).id;

    // Codes generated through the relay while claims go through the server itself.
    const claims = Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        fetch(`${first.url}/v1/campaigns/${campaignId}/claims`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ userId: `u-${i}` }),
        }).then((response) => response.status),
      ),
    );
    const codes = await stampede(['codes', 'generate', '--campaign', campaignId, '--count', '3000']);
    expect(codes.code).toBe(0);
    expect(codes.stdout).toMatch(/generated 3000 codes/);
    expect(await claims).toEqual(Array(20).fill(201));
    expect(await issuedCount(first.url, token!, campaignId)).toBe(3020);

    // kill -9: the lock stays behind; the next server takes it over and finds every row.
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    const third = await serve();
    const again = await login(third.url, 'admin@example.com', 'admin-password');
    expect(again).toBeDefined();
    expect(await issuedCount(third.url, again!, campaignId)).toBe(3020);
    third.child.kill('SIGTERM');
    await new Promise((resolve) => third.child.once('exit', resolve));
  }, 300_000);

  it('opens the directory itself when no server runs, under the same lock', async () => {
    const added = await stampede([
      'users',
      'add',
      '--email',
      'ops@example.com',
      '--password',
      'ops-password',
    ]);
    expect(added.stdout).toMatch(/^created user ops@example\.com/);
    const migrated = await stampede(['migrate']);
    expect(migrated.stdout.trim()).toBe('migrations applied (pglite)');
    const server = await serve();
    expect(await login(server.url, 'ops@example.com', 'ops-password')).toBeDefined();
    const token = await login(server.url, 'admin@example.com', 'admin-password');
    expect(await issuedCount(server.url, token!, campaignId)).toBe(3020);
    const through = await stampede(['migrate']);
    expect(through.stdout.trim()).toBe('migrations applied (pglite, by the server holding DATA_DIR)');
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.once('exit', resolve));
  }, 300_000);
});
