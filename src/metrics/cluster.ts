/**
 * Metrics under `stampede serve --workers N` (node:cluster): every worker keeps its own registry,
 * but a scrape of the shared port must describe the whole server, not whichever worker the
 * connection landed on. So a worker answering `/metrics` asks the primary, which gathers every
 * worker's registry over IPC and merges them (prom-client `AggregatorRegistry`: counters and
 * histograms summed; gauges by the `aggregator` declared in metrics.ts).
 */
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry } from 'prom-client';
import { registry } from './metrics.js';

const REQUEST = 'stampede:metrics-request';
const RESPONSE = 'stampede:metrics-response';
/** A worker gives up on the primary after this long, ms (prom-client's own IPC timeout is 5 s). */
const TIMEOUT_MS = 6_000;

interface MetricsRequest {
  type: typeof REQUEST;
  id: string;
}
interface MetricsResponse {
  type: typeof RESPONSE;
  id: string;
  text?: string;
  error?: string;
}

let aggregated = false;

/** In the primary: answers workers' requests with the merged metrics of all workers. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: MetricsRequest) => {
    if (message?.type !== REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: RESPONSE, id: message.id, text } satisfies MetricsResponse),
      (error: Error) =>
        worker.send({ type: RESPONSE, id: message.id, error: error.message } satisfies MetricsResponse),
    );
  });
}

/** In a worker: lets the primary collect this process's registry, and serve merged metrics. */
export function joinClusterMetrics(): void {
  // The constructor installs prom-client's IPC listener that answers the primary.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  aggregated = true;
}

/** The text of `/metrics`: this process's registry, or the whole cluster's when joined. */
export function scrapeMetrics(): Promise<string> {
  if (!aggregated || !process.send) return registry.metrics();
  const id = randomUUID();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error('the cluster primary did not answer the metrics request')),
      TIMEOUT_MS,
    );
    const onMessage = (message: MetricsResponse) => {
      if (message?.type !== RESPONSE || message.id !== id) return;
      finish(message.error === undefined ? undefined : new Error(message.error), message.text);
    };
    function finish(error: Error | undefined, text?: string) {
      clearTimeout(timer);
      process.off('message', onMessage);
      if (error) reject(error);
      else resolve(text ?? '');
    }
    process.on('message', onMessage);
    process.send?.({ type: REQUEST, id } satisfies MetricsRequest);
  });
}
