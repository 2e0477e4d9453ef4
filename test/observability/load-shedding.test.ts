/**
 * Load shedding on event-loop delay with a real app: while the measured delay is above the
 * threshold, API requests get 503 problem+json with Retry-After and are counted; health and
 * metrics routes still answer.
 */
import { describe, expect, it } from 'vitest';
import { problemOf, useTestApp } from '../helpers/app.js';
import { sampleValue } from '../helpers/prometheus.js';

const THRESHOLD_MS = 50;

const t = useTestApp('pglite', {
  config: {
    loadShedding: { maxEventLoopDelayMs: THRESHOLD_MS, sampleIntervalMs: 100, retryAfterSeconds: 7 },
  },
});

/**
 * Simulates an overloaded process: the event loop is kept busy in 100 ms slices (yielding in
 * between, so requests still get through, slowly) until `stop()` is called.
 */
function overload(): { stop(): void } {
  let running = true;
  const spin = () => {
    const until = Date.now() + 100;
    while (Date.now() < until) {
      // Busy on purpose.
    }
    if (running) setImmediate(spin);
  };
  setImmediate(spin);
  return {
    stop: () => {
      running = false;
    },
  };
}

/** Resolves once under-pressure has measured a delay above (or back under) the threshold. */
async function untilDelay(above: boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  // Start-up is never judged (src/http/load-shedding.ts): wait until the shedder judges.
  while (!t.app.loadShedding?.judging() || t.app.memoryUsage().eventLoopDelay > THRESHOLD_MS !== above) {
    if (Date.now() > deadline)
      throw new Error(`the event-loop delay never went ${above ? 'above' : 'under'}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('load shedding', () => {
  it('answers 503 problem+json with Retry-After while the event loop lags, and counts it', async () => {
    const before = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const busy = overload();
    let response: Awaited<ReturnType<typeof t.app.inject>>;
    let health: typeof response;
    try {
      await untilDelay(true);
      [response, health] = await Promise.all([
        t.app.inject({ method: 'GET', url: '/v1/campaigns' }),
        t.app.inject({ method: 'GET', url: '/healthz' }),
      ]);
    } finally {
      busy.stop();
    }
    const after = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;

    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('7');
    const problem = problemOf(response);
    expect(problem.contentType).toMatch(/^application\/problem\+json/);
    expect(problem.body.code).toBe('service-unavailable');
    expect(health.statusCode).toBe(200);
    const shed = (text: string) =>
      sampleValue(text, 'stampede_load_shed_requests_total', { reason: 'eventLoopDelay' });
    expect(shed(after) - shed(before)).toBe(1);
  });

  it('serves requests normally once the delay is back under the threshold', async () => {
    await untilDelay(false);
    expect((await t.app.inject({ method: 'GET', url: '/v1/campaigns' })).statusCode).toBe(200);
  });
});
