/**
 * Starts the app on a port and stops it gracefully: on SIGINT/SIGTERM the server stops accepting
 * connections, lets requests in flight finish, then the caller's resources are closed.
 */
import type { FastifyInstance } from 'fastify';

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:3000. */
  url: string;
  close(): Promise<void>;
}

export async function startServer(app: FastifyInstance, host: string, port: number): Promise<RunningServer> {
  await app.listen({ host, port });
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shownHost}:${actualPort}`, close: () => app.close() };
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
