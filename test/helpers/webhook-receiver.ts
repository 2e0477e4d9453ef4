/**
 * A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every request it
 * gets (Standard Webhooks headers and raw body), counts requests in flight per `webhook-id`, and
 * answers what `respond` decides (a status, after an optional hold). Tests wait on counted
 * arrivals ({@link WebhookReceiver.waitFor}), never on sleeps.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  /** The request path: each test endpoint has its own. */
  path: string;
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** Parsed body. */
  json: { type: string; timestamp: string; data: Record<string, unknown> };
  /** Arrival time, ms since the epoch. */
  receivedAt: number;
  /** This request's number among the requests with its webhook-id to its path (1 = first). */
  attempt: number;
}

/** What to answer to one request: a status, and optionally a promise to wait for first. */
export type Responder = (request: ReceivedWebhook) => { status: number; hold?: Promise<unknown> };

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** The largest number of requests of one webhook-id to one endpoint ever in flight at once. */
  maxInFlightPerId = 0;
  /** Requests whose answer has not been sent yet (held, or the client went away). */
  readonly inFlight = new Map<string, number>();
  respond: Responder = () => ({ status: 204 });
  private readonly server: Server;
  private readonly waiters = new Set<() => void>();
  url = '';

  constructor() {
    this.server = createServer((request, response) => {
      void this.handle(request).then(
        (status) => {
          response.statusCode = status;
          response.end();
        },
        () => response.destroy(),
      );
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Requests received for events of `type`. */
  ofType(type: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.json.type === type);
  }

  /**
   * Resolves with the received requests once `condition` holds on them (checked at each arrival).
   * @throws after `timeoutMs` with what arrived, so a failure says what was missing.
   */
  waitFor(
    condition: (received: ReceivedWebhook[]) => boolean,
    timeoutMs = 20_000,
  ): Promise<ReceivedWebhook[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition(this.received)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(this.received);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const seen = this.received.map((r) => `${r.json.type} ${r.id} #${r.attempt}`).join(', ');
        reject(new Error(`the receiver did not get what was awaited; it got: ${seen || 'nothing'}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage): Promise<number> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const id = String(request.headers['webhook-id']);
    const path = request.url ?? '/';
    const received: ReceivedWebhook = {
      path,
      id,
      timestamp: String(request.headers['webhook-timestamp']),
      signature: String(request.headers['webhook-signature']),
      body,
      json: JSON.parse(body),
      receivedAt: Date.now(),
      attempt: this.received.filter((r) => r.id === id && r.path === path).length + 1,
    };
    // In flight per webhook-id and endpoint (path): one event goes to every subscribed endpoint.
    const key = `${path} ${id}`;
    const inFlight = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, inFlight);
    this.maxInFlightPerId = Math.max(this.maxInFlightPerId, inFlight);
    let open = true;
    const done = () => {
      if (!open) return;
      open = false;
      this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1);
    };
    request.socket.once('close', done);
    this.received.push(received);
    for (const waiter of [...this.waiters]) waiter();
    const { status, hold } = this.respond(received);
    try {
      await hold;
    } finally {
      request.socket.off('close', done);
      done();
    }
    return status;
  }
}
