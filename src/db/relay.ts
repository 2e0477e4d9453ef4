/**
 * The embedded database, reachable from other processes while a server holds it.
 *
 * PGlite runs inside the serving process, so a CLI command (`users add`, `codes generate`, ...)
 * cannot open the data directory itself while `serve` runs (src/db/data-dir.ts). Instead the
 * server listens on a Unix socket in the data directory (mode 0600: only the directory's owner
 * may connect) and relays the PostgreSQL wire protocol
 * (https://www.postgresql.org/docs/current/protocol-flow.html) between the socket's clients and
 * its own PGlite, so the CLI runs its SQL on the server's database through node-postgres, and the
 * server sees every change at once.
 *
 * PGlite is one backend session shared by everyone, so the relay keeps each client's work apart:
 * - It answers the start-up itself (trust: the socket's file mode is the credential), so a
 *   client's start-up parameters never change the shared session.
 * - A client's messages run up to each Sync or simple Query as one batch, under PGlite's
 *   transaction mutex — the one PGlite's own `query()` and `transaction()` take — held from the
 *   batch that opens a transaction until the ReadyForQuery that reports it closed. So the
 *   server's statements never run inside a client's transaction, nor a client's inside the
 *   server's.
 * - A client that disconnects inside a transaction has it rolled back before anyone else runs.
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';

/** PostgreSQL's socket file name for a port; node-postgres connects to `<host dir>/.s.PGSQL.<port>`. */
export const RELAY_PORT = 5432;
/** Longest Unix socket path (sockaddr_un.sun_path holds 108 bytes with the terminating NUL). */
const MAX_SOCKET_PATH = 107;

const SSL_REQUEST = 80_877_103;
const GSS_REQUEST = 80_877_104;
const CANCEL_REQUEST = 80_877_102;

/** The socket path of the relay for `dataDir`. */
export function relaySocketPath(dataDir: string): string {
  return join(dataDir, `.s.PGSQL.${RELAY_PORT}`);
}

/** True when the relay socket of `dataDir` fits in a Unix socket address. */
export function relaySocketFits(dataDir: string): boolean {
  return Buffer.byteLength(relaySocketPath(dataDir)) <= MAX_SOCKET_PATH;
}

export interface Relay {
  socket: string;
  close(): Promise<void>;
}

/**
 * Listens on the relay socket of `dataDir` and relays clients to `pglite`. The caller must hold
 * the data directory's lock (a leftover socket file of a dead holder is removed).
 */
export async function startRelay(pglite: PGlite, dataDir: string): Promise<Relay> {
  const socketPath = relaySocketPath(dataDir);
  rmSync(socketPath, { force: true });
  const serverVersion = (await pglite.query<{ v: string }>('SHOW server_version')).rows[0]?.v ?? '17';
  const connections = new Set<RelayConnection>();
  const server: Server = createServer((socket) => {
    const connection = new RelayConnection(pglite, socket, serverVersion);
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(socketPath, 0o600);
  return {
    socket: socketPath,
    close: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const connection of connections) connection.end();
      await closed;
      rmSync(socketPath, { force: true });
    },
  };
}

/** One client connection: start-up, then batches of messages run under the transaction mutex. */
class RelayConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private started = false;
  private batch: Buffer[] = [];
  /** Work of this connection, in order. */
  private queue: Promise<void> = Promise.resolve();
  /** Releases PGlite's transaction mutex; set while this connection holds it. */
  private releaseMutex: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly pglite: PGlite,
    private readonly socket: Socket,
    private readonly serverVersion: string,
  ) {
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      this.closed = true;
      this.enqueue(() => this.abandon());
    });
  }

  end(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (!this.started) this.startUp();
    while (this.started && this.buffer.length >= 5) {
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) return;
      const message = this.buffer.subarray(0, 1 + length);
      this.buffer = this.buffer.subarray(1 + length);
      const type = String.fromCharCode(message[0]!);
      if (type === 'X') {
        this.socket.end();
        return;
      }
      this.batch.push(message);
      // Sync ends an extended-protocol batch, Query is a batch by itself, Flush asks for output.
      if (type === 'S' || type === 'Q' || type === 'H') {
        const batch = Buffer.concat(this.batch);
        this.batch = [];
        this.enqueue(() => this.run(batch));
      }
    }
  }

  /** Handles SSL/GSS requests (refused: the socket is local), cancel requests and the start-up. */
  private startUp(): void {
    while (!this.started && this.buffer.length >= 8) {
      const length = this.buffer.readInt32BE(0);
      if (this.buffer.length < length) return;
      const code = this.buffer.readInt32BE(4);
      this.buffer = this.buffer.subarray(length);
      if (code === SSL_REQUEST || code === GSS_REQUEST) {
        this.socket.write('N');
      } else if (code === CANCEL_REQUEST) {
        this.socket.end();
        return;
      } else {
        this.started = true;
        this.socket.write(this.greeting());
      }
    }
  }

  /** AuthenticationOk, the parameters clients expect, BackendKeyData and ReadyForQuery(idle). */
  private greeting(): Buffer {
    const parameters = {
      server_version: this.serverVersion,
      server_encoding: 'UTF8',
      client_encoding: 'UTF8',
      DateStyle: 'ISO, MDY',
      TimeZone: 'UTC',
      integer_datetimes: 'on',
      standard_conforming_strings: 'on',
    };
    const messages = [message('R', int32(0))];
    for (const [name, value] of Object.entries(parameters)) {
      messages.push(message('S', Buffer.from(`${name}\0${value}\0`)));
    }
    messages.push(
      message('K', Buffer.concat([int32(process.pid), int32(0)])),
      message('Z', Buffer.from('I')),
    );
    return Buffer.concat(messages);
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch(() => {
      this.socket.destroy();
    });
  }

  /** Runs one batch, holding the transaction mutex from its start until the session is idle. */
  private async run(batch: Buffer): Promise<void> {
    if (this.closed) return;
    if (!this.releaseMutex) await this.acquireMutex();
    const reply = await this.pglite.runExclusive(() => this.pglite.execProtocolRaw(batch));
    if (!this.socket.destroyed) this.socket.write(reply);
    const status = lastTransactionStatus(reply);
    if (status === 'I') this.release();
  }

  /** After a disconnect: rolls back an open transaction, then lets others run. */
  private async abandon(): Promise<void> {
    if (!this.releaseMutex) return;
    try {
      await this.pglite.runExclusive(() =>
        this.pglite.execProtocolRaw(message('Q', Buffer.from('ROLLBACK\0'))),
      );
    } finally {
      this.release();
    }
  }

  private acquireMutex(): Promise<void> {
    return new Promise((acquired) => {
      void this.pglite._runExclusiveTransaction(
        () =>
          new Promise<void>((release) => {
            this.releaseMutex = release;
            acquired();
          }),
      );
    });
  }

  private release(): void {
    const release = this.releaseMutex;
    this.releaseMutex = undefined;
    release?.();
  }
}

function int32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
}

/** A backend or frontend message: type byte, Int32 length (itself included), body. */
function message(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(type), int32(body.length + 4), body]);
}

/**
 * The transaction status of the last ReadyForQuery in `reply` ('I' idle, 'T' in a transaction,
 * 'E' in a failed transaction), or undefined when it has none (a Flush).
 */
function lastTransactionStatus(reply: Uint8Array): string | undefined {
  const view = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
  let status: string | undefined;
  for (let offset = 0; offset + 5 <= view.length; ) {
    const length = view.readInt32BE(offset + 1);
    if (view[offset] === 0x5a /* Z */ && length === 5) status = String.fromCharCode(view[offset + 5]!);
    offset += 1 + length;
  }
  return status;
}
