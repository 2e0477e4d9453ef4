/**
 * Metrics of the Redis layer on a real redis-gate app: per-campaign stream lag and pending read
 * at scrape time, the circuit breaker state, and pending claims by strategy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDrain } from '../../src/gate/drain.js';
import { StreamWorker } from '../../src/gate/worker.js';
import { bearer, createCampaign, createTestApp, type TestApp } from '../helpers/app.js';
import { sampleValue } from '../helpers/prometheus.js';
import { dropPrefix, testRedisConfig } from '../support/redis.js';

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp('postgres', {
    config: { issuanceStrategy: 'redis-gate', redis: testRedisConfig() },
  });
});
afterAll(async () => {
  if (t) await dropPrefix(t.app.services.redis!);
  await t?.close();
});

const scrape = async () => (await t.app.inject({ method: 'GET', url: '/metrics' })).body;

describe('Redis metrics', () => {
  it('report stream lag until a worker drains it, the breaker state and pending claims', async () => {
    const campaign = await createCampaign(t);
    for (const user of ['u1', 'u2', 'u3']) {
      const response = await t.app.inject({
        method: 'POST',
        url: `/v1/campaigns/${campaign.id}/claims`,
        headers: bearer(await t.userToken(user)),
      });
      expect(response.statusCode).toBe(202);
    }
    const queued = await scrape();
    expect(sampleValue(queued, 'stampede_stream_lag_entries', { campaign: campaign.id })).toBe(3);
    expect(sampleValue(queued, 'stampede_stream_pending_entries', { campaign: campaign.id })).toBe(0);
    expect(sampleValue(queued, 'stampede_circuit_breaker_state', { breaker: 'redis' })).toBe(0);
    expect(sampleValue(queued, 'stampede_claims_total', { strategy: 'redis-gate', outcome: 'pending' })).toBe(
      3,
    );

    const worker = new StreamWorker({
      db: t.database.db,
      redis: t.app.services.redis!,
      config: { ...t.app.services.config.worker, pollMs: 5 },
    });
    worker.start();
    try {
      await waitForDrain(t.database.db, t.app.services.redis!, { timeoutMs: 20_000 });
    } finally {
      await worker.stop();
    }
    const drained = await scrape();
    expect(sampleValue(drained, 'stampede_stream_lag_entries', { campaign: campaign.id })).toBe(0);
    expect(sampleValue(drained, 'stampede_campaign_remaining_stock', { campaign: campaign.id })).toBe(97);
  });
});
