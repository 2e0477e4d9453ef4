/**
 * Load shedding: while the process's mean event-loop delay is above a threshold, new requests get
 * 503 `service-unavailable` problem+json with `Retry-After` instead of queueing behind work the
 * process cannot finish in time (a flash sale knocks over servers that accept everything, seeds
 * 001 and 003). Measured by @fastify/under-pressure; each refusal is counted in
 * `stampede_load_shed_requests_total{reason}`.
 *
 * Liveness, readiness and metrics routes are never shed (route config `pressureHandler` returning
 * undefined lets them through): an overloaded process is alive, and it is when it is overloaded
 * that its metrics matter.
 */
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { DomainError } from '../errors.js';
import { metrics } from '../metrics/metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Present when load shedding is on. */
    loadShedding?: {
      /** False during start-up and its grace period, when no request is shed. */
      judging(): boolean;
    };
  }
}

/** Route config that exempts a route from load shedding. */
export const NEVER_SHED = { pressureHandler: () => undefined } as const;

/** Load shedding (plugin `stampede-load-shedding`); `maxEventLoopDelayMs` 0 turns it off. */
export const loadShedding = fp(shedLoad, {
  name: 'stampede-load-shedding',
  dependencies: ['stampede-errors'],
});

async function shedLoad(app: FastifyInstance, options: Config['loadShedding']): Promise<void> {
  if (options.maxEventLoopDelayMs <= 0) return;
  // Start-up (migrations, schema compilation) blocks the event loop by design; only samples
  // taken wholly after the app is ready judge the load. A sample covers the interval before it,
  // so two intervals after onReady every sample is post-start-up.
  let judgingFrom = Number.POSITIVE_INFINITY;
  app.addHook('onReady', async () => {
    judgingFrom = Date.now() + 2 * options.sampleIntervalMs;
  });
  app.decorate('loadShedding', { judging: () => Date.now() >= judgingFrom });
  await app.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs,
    sampleInterval: options.sampleIntervalMs,
    pressureHandler: async (_request, _reply, type, value) => {
      if (Date.now() < judgingFrom) return;
      metrics.loadShed.inc({ reason: type });
      const measured = typeof value === 'number' ? ` (${Math.round(value)} ms)` : '';
      throw new DomainError('service-unavailable', `the server is overloaded: ${type}${measured}`, {
        retryAfterSeconds: options.retryAfterSeconds,
      });
    },
  });
}
