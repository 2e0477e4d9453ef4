/**
 * Rejections that never queue, without Redis: each process keeps hot campaigns' admission state
 * in memory (kept fresh by LISTEN/NOTIFY on PostgreSQL, locally on PGlite) and refuses claims it
 * can (sold out, suspended) without reaching the strategy; it never admits by itself, and a stock
 * increase or a resume reopens claims at once.
 */

import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app/build-app.js';
import { entryOf } from '../../src/campaigns/cache.js';
import {
  CAMPAIGN_CACHE_CHANNEL,
  databaseCampaignCacheStore,
} from '../../src/campaigns/database-cache-store.js';
import { CampaignService } from '../../src/campaigns/service.js';
import {
  bearer,
  createCampaign,
  createTestApp,
  type TestApp,
  testConfig,
  useTestApp,
} from '../helpers/app.js';
import { countedDbAtomic } from '../helpers/counted-strategy.js';
import { campaignInput } from '../support/campaigns.js';
import { createTestDatabase, ENGINES } from '../support/database.js';

/** A claim for `userId` through `app`, acting with `token`. */
const claimAs = (app: FastifyInstance, token: string, campaignId: string, userId: string) =>
  app.inject({
    method: 'POST',
    url: `/v1/campaigns/${campaignId}/claims`,
    headers: bearer(token),
    payload: { userId },
  });

/** A campaign PATCH through `app`, acting with `token`. */
const patchAs = (app: FastifyInstance, token: string, campaignId: string, payload: Record<string, unknown>) =>
  app.inject({ method: 'PATCH', url: `/v1/campaigns/${campaignId}`, headers: bearer(token), payload });

describe.each(ENGINES)('campaign cache without Redis on %s', (engine) => {
  let a: TestApp;
  /** Instance A's strategy, counting the claims that reach it. */
  let counted: ReturnType<typeof countedDbAtomic>;

  beforeAll(async () => {
    a = await createTestApp(engine, {
      config: { claimRateLimit: { max: 0, windowMs: 1000 } },
      issuance: (database) => {
        counted = countedDbAtomic(database.db);
        return counted;
      },
    });
  });
  afterAll(async () => {
    await a?.close();
  });

  const claim = (app: FastifyInstance, campaignId: string, userId: string) =>
    claimAs(app, a.adminToken, campaignId, userId);
  const patch = (campaignId: string, payload: Record<string, unknown>) =>
    patchAs(a.app, a.adminToken, campaignId, payload);

  it('refuses sold-out and suspended campaigns from memory, and reopens on a stock increase', async () => {
    const campaign = await createCampaign(a, { totalQuantity: 2 });
    expect((await claim(a.app, campaign.id, 'u1')).statusCode).toBe(201);
    expect((await claim(a.app, campaign.id, 'u2')).statusCode).toBe(201);
    // The strategy finds it sold out once and the cache learns it...
    expect((await claim(a.app, campaign.id, 'u3')).json()).toMatchObject({ code: 'sold-out' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = counted.calls;
    // ...then the crowd is refused without reaching the strategy.
    const late = await Promise.all(
      Array.from({ length: 50 }, (_, i) => claim(a.app, campaign.id, `late-${i}`)),
    );
    expect(late.every((response) => response.json().code === 'sold-out')).toBe(true);
    expect(counted.calls).toBe(before);

    // More stock: the write reaches the cache, claims are admitted again (by the strategy).
    expect((await patch(campaign.id, { totalQuantity: 3 })).statusCode).toBe(200);
    expect((await claim(a.app, campaign.id, 'u4')).statusCode).toBe(201);
    expect(counted.calls).toBe(before + 1);

    // Suspended: refused from memory; resumed: the strategy decides again.
    const open = await createCampaign(a, { totalQuantity: 10 });
    expect((await patch(open.id, { status: 'suspended' })).statusCode).toBe(200);
    const calls = counted.calls;
    expect((await claim(a.app, open.id, 'v1')).json()).toMatchObject({ code: 'campaign-not-active' });
    expect(counted.calls).toBe(calls);
    expect((await patch(open.id, { status: 'active' })).statusCode).toBe(200);
    expect((await claim(a.app, open.id, 'v1')).statusCode).toBe(201);
    expect(counted.calls).toBe(calls + 1);
  });
});

// PGlite serves one process; PostgreSQL's processes learn of each other's writes by NOTIFY.
describe('campaign cache without Redis across two processes on postgres', () => {
  const a = useTestApp('postgres', { config: { claimRateLimit: { max: 0, windowMs: 1000 } } });
  const claim = (app: FastifyInstance, campaignId: string, userId: string) =>
    claimAs(app, a.adminToken, campaignId, userId);
  const patch = (campaignId: string, payload: Record<string, unknown>) =>
    patchAs(a.app, a.adminToken, campaignId, payload);

  it('carries a suspend to another process through LISTEN/NOTIFY', async () => {
    const bStrategy = countedDbAtomic(a.database.db);
    const b = await buildApp({
      config: testConfig({ claimRateLimit: { max: 0, windowMs: 1000 } }),
      database: a.database,
      issuance: bStrategy,
    });
    await b.ready();
    try {
      const campaign = await createCampaign(a, { totalQuantity: 10 });
      // B caches the campaign as active (its L1 entry lives 10 s).
      expect((await claim(b, campaign.id, 'w1')).statusCode).toBe(201);
      expect((await patch(campaign.id, { status: 'suspended' })).statusCode).toBe(200);
      // Within a notification, B refuses from memory: its strategy is no longer called.
      let refusedFromMemory = false;
      for (let i = 0; i < 50 && !refusedFromMemory; i++) {
        const calls = bStrategy.calls;
        const code = (await claim(b, campaign.id, `w-${i + 2}`)).json().code;
        refusedFromMemory = code === 'campaign-not-active' && bStrategy.calls === calls;
        if (!refusedFromMemory) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(refusedFromMemory).toBe(true);
    } finally {
      await b.close();
    }
  });
});

describe('LISTEN connection of the campaign cache on postgres', () => {
  it('listens again after its connection is killed, and ignores errors after close', async () => {
    const database = await createTestDatabase('postgres');
    const errors: unknown[] = [];
    const store = databaseCampaignCacheStore(database, (error) => errors.push(error));
    const received: string[] = [];
    await store.subscribe((campaignId) => received.push(campaignId));
    try {
      // Kill the listening backend: the store reports it once and opens a new LISTEN connection.
      await database.db.execute(
        sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE query = ${`LISTEN ${CAMPAIGN_CACHE_CHANNEL}`} AND datname = current_database()`,
      );
      const campaign = await new CampaignService(database.db).create(campaignInput());
      let delivered = false;
      for (let i = 0; i < 100 && !delivered; i++) {
        await store.publish({ campaignId: campaign.id, ...entryOf(campaign) });
        await new Promise((resolve) => setTimeout(resolve, 50));
        delivered = received.includes(campaign.id);
      }
      expect(delivered).toBe(true);
      expect(errors).toHaveLength(1);
    } finally {
      await store.close();
      // Terminating every connection after close must not reach the closed store (nor throw).
      await database.close();
    }
    expect(errors).toHaveLength(1);
  });
});
