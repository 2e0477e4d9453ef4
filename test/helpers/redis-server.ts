/**
 * Redis servers a test starts and stops itself (by PID), on loopback ports of the range given to
 * Stampede's tests (7100-7199), each with its own temporary directory. Used to kill Redis,
 * flush it, or build a Cluster without touching the shared server on 6379.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  process: ChildProcess;
  /** Sends `signal` (SIGKILL by default) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts a new server process on the same port and directory (e.g. after a kill -9). */
  restart(): Promise<void>;
  /** Kills the server and removes its directory. */
  stop(): Promise<void>;
}

/** `redis-cli -p port ...args`, returning stdout. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout;
}

async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await redisCli(port, 'ping')).trim() === 'PONG') return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
    await sleep(20);
  }
}

/**
 * Starts `redis-server` on `port` with `--save ''` plus `args` (e.g. `--appendonly yes`).
 * @throws when it does not answer PING within 10 s.
 */
export async function startRedisServer(port: number, args: string[] = []): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), `stampede-redis-${port}-`));
  const launch = () =>
    spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...args],
      {
        stdio: 'ignore',
      },
    );
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    process: launch(),
    kill: async (signal = 'SIGKILL') => {
      const child = server.process;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
    restart: async () => {
      server.process = launch();
      await waitForPing(port, 10_000);
    },
    stop: async () => {
      await server.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await waitForPing(port, 10_000);
  return server;
}

/**
 * Starts a Redis Cluster of `ports.length` masters (no replicas) on loopback.
 * @returns the servers; stop each to tear the cluster down.
 */
export async function startRedisCluster(ports: number[]): Promise<RedisServer[]> {
  const servers: RedisServer[] = [];
  try {
    for (const port of ports) {
      servers.push(
        await startRedisServer(port, [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--appendonly',
          'no',
        ]),
      );
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const deadline = Date.now() + 20_000;
    for (const port of ports) {
      while (!(await redisCli(port, 'cluster', 'info')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error('the Redis Cluster did not reach cluster_state:ok');
        await sleep(50);
      }
    }
    return servers;
  } catch (error) {
    for (const server of servers) await server.stop();
    throw error;
  }
}

/** A command a Redis server ran, as MONITOR showed it: sent by a client, or run by a script. */
export interface MonitoredCommand {
  /** `lua` for a command a script ran, else the client's address. */
  source: string;
  /** The command name, lower case. */
  name: string;
  args: string[];
}

/**
 * Records every command the server on `port` runs from now on (`redis-cli monitor`, a process
 * of its own). `stop()` sends a marker, waits until MONITOR shows it (a counted event, not a
 * sleep), ends the monitor and returns the commands before the marker.
 */
export async function monitorCommands(port: number): Promise<{ stop(): Promise<MonitoredCommand[]> }> {
  const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'monitor'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let output = '';
  let onData = () => {};
  child.stdout.on('data', (chunk) => {
    output += chunk;
    onData();
  });
  const seen = (text: string) =>
    new Promise<void>((resolve) => {
      onData = () => {
        if (output.includes(text)) resolve();
      };
      onData();
    });
  await seen('OK');
  return {
    stop: async () => {
      const marker = `monitor-end-${process.pid}-${Date.now()}`;
      const shown = seen(marker);
      await redisCli(port, 'ECHO', marker);
      await shown;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      // Up to the line of the marker (its ECHO is not part of what was watched).
      const lines = output.slice(0, output.lastIndexOf('\n', output.indexOf(marker))).split('\n');
      const commands: MonitoredCommand[] = [];
      for (const line of lines) {
        const match = /^\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line.trim());
        if (!match) continue;
        const words = [...match[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((word) => word[1]!);
        commands.push({ source: match[1]!, name: words[0]!.toLowerCase(), args: words.slice(1) });
      }
      return commands;
    },
  };
}
