/**
 * Every Prometheus metric Stampede exports, in one registry, in one place (the dashboard in
 * ops/grafana/stampede.json and its test read these names).
 *
 * One process = one registry: Prometheus scrapes processes, so the metrics are process-wide
 * singletons that any module imports and updates (`metrics.claims.inc(...)`). Units are in the
 * names (`_seconds`, `_bytes`), counters end in `_total`. Label values come from closed sets
 * (strategy names, error codes, route templates, cache levels) except `campaign`, which is bounded
 * by the number of campaigns with a live stream or active status.
 *
 * Gauges set by the Redis layer (issue 3) — the worker, the gate, the circuit breaker — are
 * defined here too, so that the scrape always lists them (as HELP/TYPE lines without samples
 * until they are set):
 * - `streamPending`, `streamLag`: per campaign, from `XINFO GROUPS` / `XPENDING`.
 * - `deadLetters`: incremented when the worker moves a claim to the dead_letters table.
 * - `cacheRequests`: the two-level campaign cache, per level and result.
 * - `circuitBreakerState`: 0 closed, 1 half-open, 2 open ({@link BREAKER_STATE}).
 *
 * Gauges describing shared state (stock, streams, breaker) declare `aggregator: 'max'`: under
 * `serve --workers N` every worker reports the same value and the merged scrape must not add
 * them up (src/metrics/cluster.ts).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();

/** Latency buckets for claims and redemptions, s: 0.5 ms (a Redis round trip) to 5 s (DB timeout). */
const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Values of `stampede_circuit_breaker_state` (an isolated breaker is held open). */
export const BREAKER_STATE: Record<string, number> = { closed: 0, 'half-open': 1, open: 2, isolated: 2 };

/** Sets `stampede_circuit_breaker_state{breaker}` from a state name of {@link BREAKER_STATE}. */
export function reportBreakerState(breaker: string, state: string): void {
  metrics.circuitBreakerState.set({ breaker }, BREAKER_STATE[state] ?? BREAKER_STATE.open!);
}

/** Pending and lag of one campaign stream, as reported by {@link setStreamStatsSource}. */
export interface StreamStats {
  campaignId: string;
  pending: number;
  lag: number;
}

let streamStatsSource: (() => Promise<StreamStats[]>) | undefined;

/** A campaign's remaining stock as reported by {@link setRemainingStockSource}. */
export interface RemainingStock {
  campaignId: string;
  remaining: number;
}

let remainingStockSource: (() => Promise<RemainingStock[]>) | undefined;

/** The webhook outbox backlog as reported by {@link setWebhookBacklogSource}. */
export interface WebhookBacklog {
  pending: number;
  oldestDueSeconds: number;
}

let webhookBacklogSource: (() => Promise<WebhookBacklog>) | undefined;

export const metrics = {
  claims: new Counter({
    name: 'stampede_claims_total',
    help: 'Claims handled, by issuance strategy and outcome (issued, pending, or the error code of the rejection)',
    labelNames: ['strategy', 'outcome'] as const,
    registers: [registry],
  }),
  claimDuration: new Histogram({
    name: 'stampede_claim_duration_seconds',
    help: 'Time to admit or reject one claim inside the issuance strategy, s',
    labelNames: ['strategy'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  }),
  redemptions: new Counter({
    name: 'stampede_redemptions_total',
    help: 'Redemptions and rollbacks executed (replays of an Idempotency-Key excluded), by outcome',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  }),
  redemptionDuration: new Histogram({
    name: 'stampede_redemption_duration_seconds',
    help: 'Time to execute one redemption or rollback transaction, s',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  }),
  httpRequests: new Counter({
    name: 'stampede_http_requests_total',
    help: 'HTTP requests answered, by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  }),
  httpDuration: new Histogram({
    name: 'stampede_http_request_duration_seconds',
    help: 'HTTP request duration from arrival to response sent, by method and route template, s',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  }),
  loadShed: new Counter({
    name: 'stampede_load_shed_requests_total',
    help: 'Requests refused with 503 because the process is overloaded, by reason (e.g. eventLoopDelay)',
    labelNames: ['reason'] as const,
    registers: [registry],
  }),
  rateLimited: new Counter({
    name: 'stampede_rate_limited_requests_total',
    help: 'Requests refused with 429 by the per-user rate limit, by route template',
    labelNames: ['route'] as const,
    registers: [registry],
  }),
  streamPending: new Gauge({
    name: 'stampede_stream_pending_entries',
    aggregator: 'max',
    help: 'Claims delivered to a worker but not yet acknowledged, per campaign stream (read at scrape time)',
    labelNames: ['campaign'] as const,
    registers: [registry],
    async collect() {
      await collectStreamStats(this, 'pending');
    },
  }),
  streamLag: new Gauge({
    name: 'stampede_stream_lag_entries',
    aggregator: 'max',
    help: 'Claims admitted by the gate and not yet delivered to any worker, per campaign stream (read at scrape time)',
    labelNames: ['campaign'] as const,
    registers: [registry],
    async collect() {
      await collectStreamStats(this, 'lag');
    },
  }),
  deadLetters: new Counter({
    name: 'stampede_dead_letters_total',
    help: 'Claims the worker could not persist after the maximum number of deliveries',
    registers: [registry],
  }),
  cacheRequests: new Counter({
    name: 'stampede_cache_requests_total',
    help: 'Campaign cache lookups, by level (l1 in-process, l2 Redis) and result (hit, miss)',
    labelNames: ['level', 'result'] as const,
    registers: [registry],
  }),
  circuitBreakerState: new Gauge({
    name: 'stampede_circuit_breaker_state',
    aggregator: 'max',
    help: 'Circuit breaker state by breaker: 0 closed, 1 half-open, 2 open',
    labelNames: ['breaker'] as const,
    registers: [registry],
  }),
  remainingStock: new Gauge({
    name: 'stampede_campaign_remaining_stock',
    aggregator: 'max',
    help: 'Coupons left to issue per active campaign, read from PostgreSQL at scrape time',
    labelNames: ['campaign'] as const,
    registers: [registry],
    async collect() {
      if (!remainingStockSource) return;
      let rows: RemainingStock[];
      try {
        rows = await remainingStockSource();
      } catch {
        // A scrape must not fail because the database blinked; the gauge keeps its last values.
        return;
      }
      this.reset();
      for (const row of rows) this.set({ campaign: row.campaignId }, row.remaining);
    },
  }),
  webhookDeliveries: new Counter({
    name: 'stampede_webhook_deliveries_total',
    help: 'Webhook delivery attempts, by outcome (delivered, retry, failed, gone = 410 disabled the endpoint)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  webhookDeliveryDuration: new Histogram({
    name: 'stampede_webhook_delivery_duration_seconds',
    help: 'Time of one webhook delivery attempt (request to response or failure), s',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
    registers: [registry],
  }),
  webhookBacklog: new Gauge({
    name: 'stampede_webhook_backlog',
    aggregator: 'max',
    help: 'Webhook deliveries pending (due or waiting for a retry), read from the database at scrape time',
    registers: [registry],
    async collect() {
      const backlog = await readWebhookBacklog();
      if (backlog) this.set(backlog.pending);
    },
  }),
  webhookOldestDue: new Gauge({
    name: 'stampede_webhook_oldest_due_seconds',
    aggregator: 'max',
    help: 'Age of the oldest due webhook delivery not yet sent, s (0 when none is due)',
    registers: [registry],
    async collect() {
      const backlog = await readWebhookBacklog();
      if (backlog) this.set(backlog.oldestDueSeconds);
    },
  }),
};

export type Metrics = typeof metrics;

async function readWebhookBacklog(): Promise<WebhookBacklog | undefined> {
  try {
    return await webhookBacklogSource?.();
  } catch {
    return undefined; // The database blinked: keep the last values rather than fail the scrape.
  }
}

/** Sets where the webhook backlog gauges are read from at scrape time; returns the function that unsets it. */
export function setWebhookBacklogSource(source: () => Promise<WebhookBacklog>): () => void {
  webhookBacklogSource = source;
  return () => {
    if (webhookBacklogSource === source) webhookBacklogSource = undefined;
  };
}

async function collectStreamStats(gauge: Gauge<'campaign'>, field: 'pending' | 'lag'): Promise<void> {
  if (!streamStatsSource) return;
  let rows: StreamStats[];
  try {
    rows = await streamStatsSource();
  } catch {
    return; // Redis unreachable: keep the last values rather than fail the scrape.
  }
  gauge.reset();
  for (const row of rows) gauge.set({ campaign: row.campaignId }, row[field]);
}

/** Sets where the stream gauges are read from at scrape time; returns the function that unsets it. */
export function setStreamStatsSource(source: () => Promise<StreamStats[]>): () => void {
  streamStatsSource = source;
  return () => {
    if (streamStatsSource === source) streamStatsSource = undefined;
  };
}

let processMetricsEnabled = false;

/**
 * Starts the default process metrics of prom-client (CPU, memory, heap, event-loop lag, GC,
 * handles) once per process.
 */
export function enableProcessMetrics(): void {
  if (processMetricsEnabled) return;
  processMetricsEnabled = true;
  collectDefaultMetrics({ register: registry });
}

/**
 * Sets where `stampede_campaign_remaining_stock` is read from at scrape time; returns a function
 * that unsets it (if it is still the current one) when its database closes.
 */
export function setRemainingStockSource(source: () => Promise<RemainingStock[]>): () => void {
  remainingStockSource = source;
  return () => {
    if (remainingStockSource === source) remainingStockSource = undefined;
  };
}
