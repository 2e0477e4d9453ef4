/**
 * `/metrics` on a real app and database: the scrape is valid for promtool, claims and redemptions
 * are counted by strategy and outcome, HTTP series use route templates, stock is reported.
 */
import { describe, expect, it } from 'vitest';
import { bearer, createCampaign, createTestApp, useTestApp } from '../helpers/app.js';
import { parseSamples, promtoolProblems, sampleValue } from '../helpers/prometheus.js';

/**
 * Lint findings promtool reports on prom-client's own default metrics (gauges named `_total`);
 * they are not Stampede's to rename. Any other finding fails the test.
 */
const THIRD_PARTY_LINT = [
  'nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_requests_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_resources_total non-counter metrics should not have "_total" suffix',
];

const t = useTestApp('postgres');

async function scrape(): Promise<string> {
  const response = await t.app.inject({ method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.body;
}

function claim(campaignId: string, userId: string) {
  return t.app.inject({
    method: 'POST',
    url: `/v1/campaigns/${campaignId}/claims`,
    headers: bearer(t.adminToken),
    payload: { userId },
  });
}

describe('/metrics', () => {
  it('passes promtool check metrics on a real scrape with claims, redemptions and HTTP traffic', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 5 });
    const issued = await claim(campaign.id, 'promtool-user');
    await claim(campaign.id, 'promtool-user');
    const couponId = (issued.json() as { coupon: { id: string } }).coupon.id;
    const redeemed = await t.app.inject({
      method: 'POST',
      url: '/v1/redemptions',
      headers: bearer(t.adminToken),
      payload: { couponId, userId: 'promtool-user', orderId: 'order-1', orderAmount: 5000 },
    });
    expect(redeemed.statusCode).toBe(201);

    const text = await scrape();
    const problems = promtoolProblems(text);
    expect(problems.filter((line) => !THIRD_PARTY_LINT.includes(line))).toEqual([]);
    expect(problems.some((line) => line.includes('stampede_'))).toBe(false);
  });

  it('counts claims by strategy and outcome and times each one', async () => {
    const before = await scrape();
    const campaign = await createCampaign(t, { totalQuantity: 2 });
    const statuses = [];
    for (const user of ['a', 'b', 'c', 'a'])
      statuses.push((await claim(campaign.id, `count-${user}`)).statusCode);
    expect(statuses).toEqual([201, 201, 409, 409]);

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);
    expect(delta('stampede_claims_total', { strategy: 'db-batch', outcome: 'issued' })).toBe(2);
    expect(delta('stampede_claims_total', { strategy: 'db-batch', outcome: 'sold-out' })).toBe(1);
    expect(delta('stampede_claims_total', { strategy: 'db-batch', outcome: 'already-claimed' })).toBe(1);
    expect(delta('stampede_claim_duration_seconds_count', { strategy: 'db-batch' })).toBe(4);
    expect(delta('stampede_claim_duration_seconds_sum', { strategy: 'db-batch' })).toBeGreaterThan(0);
  });

  it('counts redemptions by operation and outcome', async () => {
    const before = await scrape();
    const redeem = (couponId: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/redemptions',
        headers: bearer(t.adminToken),
        payload: { couponId, userId: 'redeemer', orderId: 'order-r', orderAmount: 5000 },
      });
    const campaign = await createCampaign(t);
    const couponId = ((await claim(campaign.id, 'redeemer')).json() as { coupon: { id: string } }).coupon.id;
    expect((await redeem(couponId)).statusCode).toBe(201);
    expect((await redeem(couponId)).statusCode).toBe(409);

    const after = await scrape();
    const delta = (labels: Record<string, string>) =>
      sampleValue(after, 'stampede_redemptions_total', labels) -
      sampleValue(before, 'stampede_redemptions_total', labels);
    expect(delta({ operation: 'redeem', outcome: 'completed' })).toBe(1);
    expect(delta({ operation: 'redeem', outcome: 'already-redeemed' })).toBe(1);
  });

  it('labels HTTP requests by route template, never by raw URL', async () => {
    const campaign = await createCampaign(t);
    await t.app.inject({ method: 'GET', url: `/v1/campaigns/${campaign.id}` });
    await t.app.inject({ method: 'GET', url: `/no/such/path/${campaign.id}` });

    const text = await scrape();
    const httpSeries = parseSamples(text).filter((s) => s.name.startsWith('stampede_http_'));
    expect(httpSeries.some((s) => JSON.stringify(s.labels).includes(campaign.id))).toBe(false);
    expect(
      sampleValue(text, 'stampede_http_requests_total', {
        method: 'GET',
        route: '/v1/campaigns/:id',
        status_code: '200',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(text, 'stampede_http_requests_total', {
        method: 'GET',
        route: 'unmatched',
        status_code: '404',
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('reports the remaining stock of each active campaign', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 7 });
    await claim(campaign.id, 'stock-1');
    await claim(campaign.id, 'stock-2');
    const text = await scrape();
    expect(sampleValue(text, 'stampede_campaign_remaining_stock', { campaign: campaign.id })).toBe(5);
  });

  it('exports the process metrics: CPU, memory, event-loop lag and GC', async () => {
    const names = new Set(parseSamples(await scrape()).map((s) => s.name));
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(names).toContain(name);
    }
    expect(await scrape()).toContain('# TYPE nodejs_gc_duration_seconds histogram');
  });
});

describe('with METRICS_ENABLED=false', () => {
  it('serves no /metrics and still issues coupons', async () => {
    const off = await createTestApp('pglite', { config: { metricsEnabled: false } });
    try {
      expect((await off.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
      const campaign = await createCampaign(off);
      const response = await off.app.inject({
        method: 'POST',
        url: `/v1/campaigns/${campaign.id}/claims`,
        headers: bearer(await off.userToken('quiet')),
      });
      expect(response.statusCode).toBe(201);
    } finally {
      await off.close();
    }
  });
});
