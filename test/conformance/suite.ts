/**
 * The conformance suite every issuance strategy passes, on PostgreSQL and on PGlite:
 * N concurrent claims against a stock S issue exactly min(N users, S) coupons, no user above the
 * per-user limit, none outside the window or on a campaign that is not active.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignService } from '../../src/campaigns/service.js';
import type { Engine } from '../../src/db/client.js';
import { queryRows } from '../../src/db/client.js';
import { DomainError } from '../../src/errors.js';
import { campaignInput } from '../support/campaigns.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import type { StrategyHarness, StrategyUnderTest } from './strategies.js';

const HOUR_MS = 3_600_000;

/**
 * Declares the suite for every engine × harness. Called by the test files of each family of
 * strategies (database, Redis, Redis Cluster) so that each file stays short.
 */
export function conformanceSuite(engines: readonly Engine[], harnesses: StrategyHarness[]): void {
  describe.each(engines)('on %s', (engine) => {
    describe.each(harnesses)('strategy $name', (harness) => {
      let database: TestDatabase;
      let campaigns: CampaignService;
      let subject: StrategyUnderTest;

      beforeAll(async () => {
        database = await createTestDatabase(engine);
        campaigns = new CampaignService(database.db);
        subject = await harness.setup(database);
        // What buildApp wires: committed campaign writes reach the strategy (the redis-gate's gate).
        if (subject.strategy.onCampaignChange) {
          const onChange = subject.strategy.onCampaignChange.bind(subject.strategy);
          campaigns.onChange((campaign) => onChange(campaign));
        }
      });
      afterAll(async () => {
        await subject?.close();
        await database?.close();
      });

      const newCampaign = (overrides: Partial<Parameters<CampaignService['create']>[0]> = {}) =>
        campaigns.create(campaignInput({ name: 'conformance', ...overrides }));

      const claim = (campaignId: string, userId: string) =>
        subject.strategy.claim({ campaignId, userId, claimId: randomUUID() });

      /** Runs all claims concurrently; returns admitted count and rejection codes by count. */
      async function race(claims: Promise<unknown>[]) {
        const results = await Promise.allSettled(claims);
        const rejected: Record<string, number> = {};
        for (const result of results) {
          if (result.status === 'fulfilled') continue;
          const code = result.reason instanceof DomainError ? result.reason.code : String(result.reason);
          rejected[code] = (rejected[code] ?? 0) + 1;
        }
        await subject.settle();
        return { admitted: results.filter((r) => r.status === 'fulfilled').length, rejected };
      }

      async function persisted(campaignId: string) {
        const rows = await queryRows<{
          coupons: number;
          users: number;
          max_per_user: number;
          issued_count: number;
        }>(
          database.db,
          sql`SELECT count(*)::int AS coupons, count(DISTINCT user_id)::int AS users,
                   coalesce(max(n), 0)::int AS max_per_user,
                   (SELECT issued_count FROM campaigns WHERE id = ${campaignId}) AS issued_count
            FROM (SELECT user_id, count(*) OVER (PARTITION BY user_id) AS n FROM coupons WHERE campaign_id = ${campaignId}) c`,
        );
        return rows[0]!;
      }

      it('issues one coupon to a single claim', async () => {
        const campaign = await newCampaign();
        const outcome = await claim(campaign.id, 'user-1');
        expect(['issued', 'pending']).toContain(outcome.status);
        await subject.settle();
        expect(await persisted(campaign.id)).toEqual({
          coupons: 1,
          users: 1,
          max_per_user: 1,
          issued_count: 1,
        });
      });

      it('issues exactly the stock when 1,000 distinct users race for 100 coupons', async () => {
        const campaign = await newCampaign({ totalQuantity: 100 });
        const result = await race(Array.from({ length: 1000 }, (_, i) => claim(campaign.id, `racer-${i}`)));
        expect(result.admitted).toBe(100);
        expect(result.rejected).toEqual({ 'sold-out': 900 });
        expect(await persisted(campaign.id)).toEqual({
          coupons: 100,
          users: 100,
          max_per_user: 1,
          issued_count: 100,
        });
      });

      it.each([1, 3])(
        'gives one user sending 100 concurrent claims exactly its limit of %i',
        async (limit) => {
          const campaign = await newCampaign({ perUserLimit: limit });
          const result = await race(Array.from({ length: 100 }, () => claim(campaign.id, 'impatient')));
          expect(result.admitted).toBe(limit);
          expect(result.rejected).toEqual({ 'already-claimed': 100 - limit });
          expect(await persisted(campaign.id)).toEqual({
            coupons: limit,
            users: 1,
            max_per_user: limit,
            issued_count: limit,
          });
        },
      );

      it('gives one user sending 150 concurrent claims exactly the largest limit of 100', async () => {
        const campaign = await newCampaign({ perUserLimit: 100, totalQuantity: 1000 });
        const result = await race(Array.from({ length: 150 }, () => claim(campaign.id, 'collector')));
        expect(result).toEqual({ admitted: 100, rejected: { 'already-claimed': 50 } });
        expect(await persisted(campaign.id)).toEqual({
          coupons: 100,
          users: 1,
          max_per_user: 100,
          issued_count: 100,
        });
      });

      it('keeps stock and limits when 300 users send 3 claims each for 200 coupons (limit 2)', async () => {
        const campaign = await newCampaign({ totalQuantity: 200, perUserLimit: 2 });
        const claims = Array.from({ length: 300 }, (_, user) =>
          Array.from({ length: 3 }, () => claim(campaign.id, `mixed-${user}`)),
        ).flat();
        const result = await race(claims);
        expect(result.admitted).toBe(200);
        const stored = await persisted(campaign.id);
        expect(stored.coupons).toBe(200);
        expect(stored.issued_count).toBe(200);
        expect(stored.max_per_user).toBeLessThanOrEqual(2);
      });

      it.each([
        ['a suspended campaign', { status: 'active' as const }, 'suspend', 'campaign-not-active'],
        // A draft is unpublished: claims answer as GET does to non-admins (issue 12).
        ['a draft campaign', { status: 'draft' as const }, undefined, 'not-found'],
        ['an ended campaign', { status: 'active' as const }, 'end', 'campaign-not-active'],
        [
          'a campaign that has not started',
          { startsAt: new Date(Date.now() + HOUR_MS) },
          undefined,
          'campaign-not-active',
        ],
        [
          'a campaign whose window has closed',
          { startsAt: new Date(Date.now() - 2 * HOUR_MS), endsAt: new Date(Date.now() - HOUR_MS) },
          undefined,
          'campaign-not-active',
        ],
      ])('rejects claims on %s and writes nothing', async (_label, overrides, action, code) => {
        const campaign = await newCampaign(overrides);
        if (action === 'suspend') await campaigns.update(campaign.id, { status: 'suspended' });
        if (action === 'end') await campaigns.update(campaign.id, { status: 'ended' });
        const result = await race(Array.from({ length: 20 }, (_, i) => claim(campaign.id, `late-${i}`)));
        expect(result).toEqual({ admitted: 0, rejected: { [code]: 20 } });
        expect(await persisted(campaign.id)).toMatchObject({ coupons: 0, issued_count: 0 });
      });

      it('accepts claims again after a suspended campaign is resumed', async () => {
        const campaign = await newCampaign();
        await campaigns.update(campaign.id, { status: 'suspended' });
        await expect(claim(campaign.id, 'patient')).rejects.toMatchObject({ code: 'campaign-not-active' });
        await campaigns.update(campaign.id, { status: 'active' });
        await expect(claim(campaign.id, 'patient')).resolves.toMatchObject({ claimId: expect.any(String) });
        await subject.settle();
        expect((await persisted(campaign.id)).coupons).toBe(1);
      });

      it('answers not-found for an unknown or deleted campaign', async () => {
        await expect(claim(randomUUID(), 'someone')).rejects.toMatchObject({ code: 'not-found' });
        const campaign = await newCampaign();
        await campaigns.delete(campaign.id);
        await expect(claim(campaign.id, 'someone')).rejects.toMatchObject({ code: 'not-found' });
      });
    });
  });
}
