/**
 * The live view's server-sent events (GET /v1/campaigns/{id}/live): frames carry the claim
 * outcomes, stock and sold-out moment; with Redis, a stream served by one API process counts the
 * claims answered by another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app/build-app.js';
import { memoryOutcomeCounters } from '../../src/live/counters.js';
import { type LiveFrame, liveFrame } from '../../src/live/routes.js';
import { readLive } from '../../src/live/snapshot.js';
import {
  bearer,
  createCampaign,
  createTestApp,
  type TestApp,
  testConfig,
  useTestApp,
} from '../helpers/app.js';
import { dropPrefix, testRedisConfig } from '../support/redis.js';

/**
 * Reads the live stream at `url` until a frame satisfies `done`, and returns that frame and how
 * many frames came. Ends the connection afterwards.
 */
async function frameWhere(url: string, token: string, done: (frame: LiveFrame) => boolean) {
  const controller = new AbortController();
  const response = await fetch(url, { headers: bearer(token), signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let frames = 0;
  try {
    for (;;) {
      const { value, done: ended } = await reader.read();
      if (ended) throw new Error('the stream ended before the expected frame');
      buffer += value;
      let boundary = buffer.indexOf('\n\n');
      while (boundary >= 0) {
        const event = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        boundary = buffer.indexOf('\n\n');
        const data = event.split('\n').find((line) => line.startsWith('data: '));
        if (!data) continue;
        frames += 1;
        const frame = JSON.parse(data.slice(6)) as LiveFrame;
        if (done(frame)) return { frame, frames };
      }
    }
  } finally {
    controller.abort();
  }
}

const claim = async (t: TestApp, campaignId: string, userId: string) =>
  t.app.inject({
    method: 'POST',
    url: `/v1/campaigns/${campaignId}/claims`,
    headers: bearer(await t.userToken(userId)),
  });

describe('live view, embedded database', () => {
  const t = useTestApp('pglite');
  let base = '';
  beforeAll(async () => {
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });

  it('counts claims by outcome and reports the sold-out moment', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 2 });
    expect((await claim(t, campaign.id, 'ann')).statusCode).toBe(201);
    expect((await claim(t, campaign.id, 'ann')).statusCode).toBe(409); // already claimed
    expect((await claim(t, campaign.id, 'bob')).statusCode).toBe(201);
    expect((await claim(t, campaign.id, 'cid')).statusCode).toBe(409); // sold out
    const { frame } = await frameWhere(
      `${base}/v1/campaigns/${campaign.id}/live`,
      t.adminToken,
      (f) => f.claims.issued === 2,
    );
    expect(frame).toMatchObject({
      issuedCount: 2,
      remaining: 0,
      totalQuantity: 2,
      status: 'active',
      claims: { issued: 2, alreadyClaimed: 1, soldOut: 1, rateLimited: 0 },
    });
    expect(frame.soldOutAt).not.toBeNull();
  });

  it('sends a new frame every interval, with per-second rates', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 10 });
    const { frame, frames } = await frameWhere(
      `${base}/v1/campaigns/${campaign.id}/live`,
      t.adminToken,
      (_f) => true,
    );
    expect(frames).toBe(1);
    expect(frame.claimsPerSecond).toEqual({ issued: 0, soldOut: 0, alreadyClaimed: 0, rateLimited: 0 });
    expect(frame.soldOutAt).toBeNull();
    expect(frame.streamBacklog).toBeNull();
    let seen = 0;
    await frameWhere(`${base}/v1/campaigns/${campaign.id}/live`, t.adminToken, () => ++seen === 3);
    expect(seen).toBe(3);
  });

  it('counts the redemptions made since the previous reading, and rates them per second', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 5 });
    const before = await readLive(t.database.db, memoryOutcomeCounters(), undefined, campaign.id);
    for (const user of ['r1', 'r2']) {
      const claimed = (await claim(t, campaign.id, user)).json() as { coupon: { id: string } };
      const redeemed = await t.app.inject({
        method: 'POST',
        url: '/v1/redemptions',
        headers: bearer(await t.userToken(user)),
        payload: { couponId: claimed.coupon.id, orderId: `order-${user}`, orderAmount: 5000 },
      });
      expect(redeemed.statusCode).toBe(201);
    }
    const after = await readLive(t.database.db, memoryOutcomeCounters(), undefined, campaign.id, before.at);
    expect(after.redeemedSince).toBe(2);
    const seconds = (after.at.getTime() - before.at.getTime()) / 1000;
    expect(liveFrame(before, after).redemptionsPerSecond).toBeCloseTo(2 / seconds, 6);
  });

  it('refuses non-admins and unknown campaigns with problems', async () => {
    const campaign = await createCampaign(t);
    const user = await fetch(`${base}/v1/campaigns/${campaign.id}/live`, {
      headers: bearer(await t.userToken('u')),
    });
    expect(user.status).toBe(403);
    const unknown = await fetch(`${base}/v1/campaigns/0190f0e2-0000-7000-8000-000000000000/live`, {
      headers: bearer(t.adminToken),
    });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('is documented in the OpenAPI document as text/event-stream of LiveFrame', async () => {
    const document = t.app.swagger() as unknown as {
      paths: Record<string, { get: { responses: Record<string, { content: Record<string, unknown> }> } }>;
    };
    const ok = document.paths['/v1/campaigns/{id}/live']?.get.responses['200'];
    expect(ok?.content['text/event-stream']).toEqual({ schema: { $ref: '#/components/schemas/LiveFrame' } });
  });
});

describe('live view across API processes (PostgreSQL and Redis)', () => {
  let claiming: TestApp;
  let watching: Awaited<ReturnType<typeof buildApp>>;
  const redis = testRedisConfig();

  beforeAll(async () => {
    claiming = await createTestApp('postgres', {
      config: { redis, claimRateLimit: { max: 2, windowMs: 60_000 } },
    });
    watching = await buildApp({ config: testConfig({ redis }), database: claiming.database });
    await watching.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await watching?.close();
    if (claiming) await dropPrefix(claiming.app.services.redis!);
    await claiming?.close();
  });

  it('shows on one process the claims another process answered, rate-limited ones included', async () => {
    const campaign = await createCampaign(claiming, { totalQuantity: 3, perUserLimit: 1 });
    const statuses = [];
    // a twice (already claimed), b and c sell it out, d is refused sold out, a's third is rate limited.
    for (const user of ['a', 'a', 'b', 'c', 'd', 'a']) {
      statuses.push((await claim(claiming, campaign.id, user)).statusCode);
    }
    expect(statuses).toEqual([201, 409, 201, 201, 409, 429]);
    const address = watching.server.address() as { port: number };
    const { frame } = await frameWhere(
      `http://127.0.0.1:${address.port}/v1/campaigns/${campaign.id}/live`,
      claiming.adminToken,
      (f) => f.claims.rateLimited === 1,
    );
    expect(frame).toMatchObject({
      issuedCount: 3,
      remaining: 0,
      claims: { issued: 3, soldOut: 1, alreadyClaimed: 1, rateLimited: 1 },
    });
    expect(frame.streamBacklog).toBe(0);
  });
});
