/**
 * `GET /metrics` (Prometheus text format) and the HTTP request metrics.
 *
 * Requests are labelled by route template (`request.routeOptions.url`, e.g.
 * `/v1/campaigns/:id/claims`), never by raw URL, so the number of series stays bounded whatever
 * clients send; requests that match no route share the label `unmatched`.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { scrapeMetrics } from '../metrics/cluster.js';
import { metrics, registry } from '../metrics/metrics.js';
import { NEVER_SHED } from './load-shedding.js';

/** Route label of requests that matched no route (404s of the not-found handler). */
export const UNMATCHED_ROUTE = 'unmatched';

/** HTTP request metrics and `GET /metrics` (plugin `stampede-metrics`). */
export const httpMetrics = fp(instrumentHttp, {
  name: 'stampede-metrics',
  dependencies: ['stampede-errors'],
});

async function instrumentHttp(app: FastifyInstance): Promise<void> {
  // Callback style: on every request, an async hook would cost a promise for nothing.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const method = request.method;
    metrics.httpRequests.inc({ method, route, status_code: String(reply.statusCode) });
    metrics.httpDuration.observe({ method, route }, reply.elapsedTime / 1000);
    done();
  });

  app.get(
    '/metrics',
    {
      config: NEVER_SHED,
      schema: { tags: ['ops'], summary: 'Prometheus metrics (text exposition format)', hide: true },
    },
    async (_request, reply) => {
      reply.type(registry.contentType);
      return scrapeMetrics();
    },
  );
}
