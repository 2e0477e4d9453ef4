/**
 * The webhook dispatcher: sends the outbox's due deliveries to their endpoints, at least once.
 * One runs in `serve` and one in each `stampede worker`; any number may share a database.
 *
 * Loop: lease up to the free slots' worth of due deliveries ({@link leaseDueDeliveries}: one
 * short statement, FOR UPDATE SKIP LOCKED, so dispatchers take disjoint rows), POST each outside
 * any transaction (at most `concurrency` at once, `timeoutMs` each), then record its outcome
 * under the lease ({@link recordAttempts}: the outcomes that arrive while one such statement runs
 * are written together by the next, as db-batch groups claims). While requests are in flight it
 * leases again only once half the slots are free, so leases too go in groups. When fewer rows were
 * due than slots free, it sleeps `pollMs`. A dispatcher killed mid-delivery leaves its rows leased; when the lease
 * ({@link leaseMsFor}) runs out another dispatcher sends them again with the same `webhook-id`.
 * The lease outlasts the request timeout, so a request in flight always ends within its lease;
 * but when recording the outcome is delayed past the lease (a busy database), another dispatcher
 * may send the delivery again — at least once, never lost — and the late outcome is dropped, as
 * outcomes are recorded only under the lease they were made with.
 *
 * Outcomes: 2xx delivered; 410 Gone disables the endpoint (the delivery fails, the endpoint's
 * other pending deliveries are paused until an admin enables it again); anything else (another status, a network error, a timeout,
 * a refused address) is retried on the schedule {@link RETRY_SCHEDULE_MS}, then fails.
 */
import { setImmediate, setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { WebhookConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { metrics } from '../metrics/metrics.js';
import {
  type AttemptOutcome,
  type LeasedDelivery,
  leaseDueDeliveries,
  recordAttempts,
  releaseLeases,
} from './repository.js';
import { signDelivery } from './signing.js';
import { guardedLookup, refusedAddress } from './ssrf.js';

/**
 * Delays before the retries of a failed delivery, ms, at the default scale: Svix's schedule
 * (https://docs.svix.com/retries): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — 8 attempts over
 * about 27 h. `WEBHOOK_RETRY_BASE_MS` sets the first delay and scales the others with it.
 */
export const RETRY_SCHEDULE_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/** Delay before the retry that follows failed attempt number `attempts` (1-based), or undefined when none is left. */
export function retryDelayMs(attempts: number, retryBaseMs: number): number | undefined {
  const delay = RETRY_SCHEDULE_MS[attempts - 1];
  return delay === undefined ? undefined : Math.round((delay * retryBaseMs) / RETRY_SCHEDULE_MS[0]!);
}

/** The lease on a delivery, ms: twice the request timeout plus a second, so the outcome is recorded inside it. */
export function leaseMsFor(timeoutMs: number): number {
  return 2 * timeoutMs + 1000;
}

/** The outcome of an attempt that got an HTTP answer `statusCode` (number `attempts`). */
export function outcomeOf(statusCode: number, attempts: number, retryBaseMs: number): AttemptOutcome {
  if (statusCode >= 200 && statusCode < 300) return { status: 'delivered', statusCode, error: null };
  if (statusCode === 410) {
    return {
      status: 'failed',
      statusCode,
      error: 'the endpoint answered 410 Gone',
      disableEndpoint: 'the endpoint answered 410 Gone',
    };
  }
  return failure(attempts, retryBaseMs, statusCode, `the endpoint answered ${statusCode}`);
}

function failure(
  attempts: number,
  retryBaseMs: number,
  statusCode: number | null,
  error: string,
): AttemptOutcome {
  const retryInMs = retryDelayMs(attempts, retryBaseMs);
  return retryInMs === undefined
    ? { status: 'failed', statusCode, error }
    : { status: 'retry', retryInMs, statusCode, error };
}

export interface DispatcherOptions {
  db: Db;
  /** Deliveries in flight at once in this process (WEBHOOK_CONCURRENCY). */
  concurrency: number;
  /** Pause when nothing is due, ms (WEBHOOK_POLL_MS). */
  pollMs: number;
  /** The first retry delay, ms; scales the schedule (WEBHOOK_RETRY_BASE_MS). */
  retryBaseMs: number;
  /** Longest time of one request, ms (WEBHOOK_TIMEOUT_MS, 15 s by default). */
  timeoutMs: number;
  /** Send to private and loopback addresses too (WEBHOOK_ALLOW_PRIVATE_URLS). */
  allowPrivateUrls: boolean;
  logger: { warn(object: object, message: string): void };
}

export class WebhookDispatcher {
  private readonly agent: Agent;
  private readonly stopController = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  /** Leases whose request was cut short by stop(): given back when stopping. */
  private readonly interrupted: LeasedDelivery[] = [];
  private loop: Promise<void> | undefined;
  private slotFreed: (() => void) | undefined;
  /** Outcomes waiting for the next {@link recordAttempts} statement, with their callers. */
  private readonly outcomes: { lease: LeasedDelivery; outcome: AttemptOutcome; recorded: () => void }[] = [];
  private recording = false;

  constructor(private readonly options: DispatcherOptions) {
    this.agent = new Agent({
      connect: {
        timeout: options.timeoutMs,
        ...(options.allowPrivateUrls ? {} : { lookup: guardedLookup }),
      },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops leasing, cuts the requests in flight and gives their deliveries back (due now). */
  async stop(): Promise<void> {
    this.stopController.abort();
    this.slotFreed?.();
    await this.loop;
    await Promise.all(this.inFlight);
    try {
      await releaseLeases(this.options.db, this.interrupted);
    } catch (err) {
      this.options.logger.warn({ err }, 'webhooks: giving back leases failed (they expire by themselves)');
    }
    await this.agent.close();
  }

  private get stopping(): boolean {
    return this.stopController.signal.aborted;
  }

  private async run(): Promise<void> {
    const { db, concurrency, pollMs, timeoutMs } = this.options;
    while (!this.stopping) {
      const free = concurrency - this.inFlight.size;
      if (free <= 0 || (this.inFlight.size > 0 && free < Math.ceil(concurrency / 2))) {
        await new Promise<void>((resolve) => {
          this.slotFreed = resolve;
        });
        continue;
      }
      let leases: LeasedDelivery[] = [];
      try {
        leases = await leaseDueDeliveries(db, free, leaseMsFor(timeoutMs));
      } catch (err) {
        if (!this.stopping) this.options.logger.warn({ err }, 'webhooks: leasing due deliveries failed');
      }
      for (const lease of leases) {
        const sending = this.deliver(lease).finally(() => {
          this.inFlight.delete(sending);
          this.slotFreed?.();
        });
        this.inFlight.add(sending);
      }
      if (leases.length < free && !this.stopping) {
        await sleep(pollMs, undefined, { signal: this.stopController.signal }).catch(() => {});
      }
    }
  }

  /** Sends one delivery and records its outcome. Never throws. */
  private async deliver(lease: LeasedDelivery): Promise<void> {
    const { retryBaseMs, timeoutMs } = this.options;
    const body = JSON.stringify({
      type: lease.type,
      timestamp: lease.eventCreatedAt.toISOString(),
      data: lease.payload,
    });
    const started = performance.now();
    let outcome: AttemptOutcome;
    try {
      this.checkLiteralAddress(lease.url);
      const response = await request(lease.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: {
          ...signDelivery(lease.eventId, new Date(), body, lease.secrets),
          'content-type': 'application/json',
          'user-agent': 'Stampede-Webhooks/1',
        },
        body,
        signal: AbortSignal.any([this.stopController.signal, AbortSignal.timeout(timeoutMs)]),
      });
      await response.body.dump();
      outcome = outcomeOf(response.statusCode, lease.attempts, retryBaseMs);
    } catch (error) {
      if (this.stopping) {
        this.interrupted.push(lease);
        return;
      }
      outcome = failure(lease.attempts, retryBaseMs, null, errorText(error));
    }
    metrics.webhookDeliveryDuration.observe((performance.now() - started) / 1000);
    metrics.webhookDeliveries.inc({ outcome: outcome.disableEndpoint ? 'gone' : outcome.status });
    await new Promise<void>((recorded) => {
      this.outcomes.push({ lease, outcome, recorded });
      if (!this.recording) void this.recordOutcomes();
    });
  }

  /** Writes the waiting outcomes, a statement at a time, until none is left. Never throws. */
  private async recordOutcomes(): Promise<void> {
    this.recording = true;
    while (this.outcomes.length > 0) {
      // The outcomes of this event-loop turn join the statement.
      await setImmediate();
      const batch = this.outcomes.splice(0, 1000);
      try {
        await recordAttempts(this.options.db, batch);
      } catch (err) {
        // The leases run out and the deliveries are sent again: at least once.
        this.options.logger.warn({ err, deliveries: batch.length }, 'webhooks: recording attempts failed');
      }
      for (const { recorded } of batch) recorded();
    }
    this.recording = false;
  }

  /** A URL naming an IP address connects without a lookup: its address is checked here. */
  private checkLiteralAddress(url: string): void {
    if (this.options.allowPrivateUrls) return;
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    const refused = /^[0-9.]+$|:/.test(host) ? refusedAddress(host) : undefined;
    if (refused) throw new Error(`refused webhook address: ${refused}`);
  }
}

/** A short text for `last_error`. */
function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 500);
}

/**
 * Starts a dispatcher over `db` with the WEBHOOK_* settings, or none when WEBHOOK_DISPATCH=false.
 * The caller stops it (`stop()`) before closing the database.
 */
export function startWebhookDispatcher(
  config: WebhookConfig,
  db: Db,
  logger: DispatcherOptions['logger'],
): WebhookDispatcher | undefined {
  if (!config.dispatch) return undefined;
  const dispatcher = new WebhookDispatcher({
    db,
    concurrency: config.concurrency,
    pollMs: config.pollMs,
    retryBaseMs: config.retryBaseMs,
    timeoutMs: config.timeoutMs,
    allowPrivateUrls: config.allowPrivateUrls,
    logger,
  });
  dispatcher.start();
  return dispatcher;
}
