/**
 * Starts the app on a port and stops it gracefully: on SIGINT/SIGTERM the server stops accepting
 * connections, lets requests in flight finish, then the caller's resources are closed.
 */
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { SettingError } from '../errors.js';

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:3000. */
  url: string;
  close(): Promise<void>;
}

/**
 * Listens on `host:port`.
 * @throws SettingError naming PORT when the port is taken or privileged, HOST when it is not an
 *   address of this machine.
 */
export async function startServer(app: FastifyInstance, host: string, port: number): Promise<RunningServer> {
  try {
    await app.listen({ host, port });
  } catch (error) {
    throw listenError(error, host, port);
  }
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shownHost}:${actualPort}`, close: () => app.close() };
}

/**
 * Checks, before any slow start-up work, that `host:port` can be listened on: binds it and closes
 * it at once. (A process that takes the port in between still gets the same error from
 * {@link startServer}.)
 * @throws SettingError naming HOST (not an address of this machine) or PORT (in use, privileged).
 */
export async function checkListen(host: string, port: number): Promise<void> {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, host, resolve);
    });
  } catch (error) {
    throw listenError(error, host, port);
  } finally {
    await new Promise((resolve) => probe.close(resolve));
  }
}

function listenError(error: unknown, host: string, port: number): unknown {
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'EADDRINUSE':
      return new SettingError('PORT', `PORT ${port} is in use (set PORT)`, { cause: error });
    case 'EACCES':
      return new SettingError('PORT', `PORT ${port} needs privileges (set PORT above 1023)`, {
        cause: error,
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new SettingError('HOST', `HOST ${host} cannot be resolved (set HOST)`, { cause: error });
    case 'EADDRNOTAVAIL':
      return new SettingError('HOST', `HOST ${host} is not an address of this machine (set HOST)`, {
        cause: error,
      });
    default:
      return error;
  }
}

/** Calls `shutdown` once on the first SIGINT or SIGTERM. */
export function onShutdownSignal(shutdown: (signal: string) => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      void shutdown(signal);
    });
  }
}
