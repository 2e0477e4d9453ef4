/**
 * Per-user rate limiting of claims on a real app: beyond the limit a user gets 429 problem+json
 * with Retry-After, counted in the metrics; other users are not affected.
 */
import { describe, expect, it } from 'vitest';
import { bearer, createCampaign, createTestApp, problemOf, useTestApp } from '../helpers/app.js';
import { sampleValue } from '../helpers/prometheus.js';

const t = useTestApp('pglite', { config: { claimRateLimit: { max: 3, windowMs: 60_000 } } });

const claim = (campaignId: string, userId: string) =>
  t.app.inject({
    method: 'POST',
    url: `/v1/campaigns/${campaignId}/claims`,
    headers: bearer(t.adminToken),
    payload: { userId },
  });

describe('claim rate limit', () => {
  it('answers 429 problem+json with Retry-After once a user exceeds the limit, and counts it', async () => {
    const campaign = await createCampaign(t, { perUserLimit: 1 });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await claim(campaign.id, 'hammering')).statusCode);
    expect(statuses).toEqual([201, 409, 409, 429, 429]);

    const limited = await claim(campaign.id, 'hammering');
    const problem = problemOf(limited);
    expect(problem.status).toBe(429);
    expect(problem.contentType).toMatch(/^application\/problem\+json/);
    expect(problem.body.code).toBe('rate-limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);

    const scrape = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(
      sampleValue(scrape, 'stampede_rate_limited_requests_total', { route: '/v1/campaigns/:id/claims' }),
    ).toBe(3);
  });

  it('limits each user separately', async () => {
    // Stands alone: it exhausts its own user's limit first, then shows another user unaffected.
    const campaign = await createCampaign(t, { perUserLimit: 1 });
    for (let i = 0; i < 3; i++) await claim(campaign.id, 'loud-user');
    expect((await claim(campaign.id, 'loud-user')).statusCode).toBe(429);
    expect((await claim(campaign.id, 'calm-user')).statusCode).toBe(201);
  });

  it('is off with a maximum of 0', async () => {
    const free = await createTestApp('pglite', { config: { claimRateLimit: { max: 0, windowMs: 1000 } } });
    try {
      const campaign = await createCampaign(free);
      const statuses = new Set<number>();
      for (let i = 0; i < 15; i++) {
        const response = await free.app.inject({
          method: 'POST',
          url: `/v1/campaigns/${campaign.id}/claims`,
          headers: bearer(await free.userToken('unlimited')),
        });
        statuses.add(response.statusCode);
      }
      expect([...statuses].sort()).toEqual([201, 409]);
    } finally {
      await free.close();
    }
  });
});
