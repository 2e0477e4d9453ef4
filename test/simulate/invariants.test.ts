/**
 * The invariant checker on real rows written directly into a test database, bypassing the API:
 * it must catch an over-issue, a lost acknowledged claim, a user above the limit and a double
 * redemption (the last two only once the database's own guards are removed).
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignService } from '../../src/campaigns/service.js';
import { DbAtomicStrategy } from '../../src/issuance/strategies/db-atomic.js';
import { findViolations, readDatabaseTruth, summarizeFigures } from '../../src/simulate/invariants.js';
import { campaignInput } from '../support/campaigns.js';
import { createTestDatabase, ENGINES, type TestDatabase } from '../support/database.js';

describe.each(ENGINES)('the invariant checker on real rows (%s)', (engine) => {
  let database: TestDatabase;
  let campaigns: CampaignService;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    campaigns = new CampaignService(database.db);
  });
  afterAll(async () => {
    await database?.close();
  });

  /** A campaign of stock 2 (limit 1) sold out through the real strategy; returns its id and coupon ids. */
  async function soldOutCampaign() {
    const campaign = await campaigns.create(
      campaignInput({ name: 'checked', totalQuantity: 2, discount: { type: 'fixed', amount: 100 } }),
    );
    const strategy = new DbAtomicStrategy(database.db);
    const ids = [randomUUID(), randomUUID()];
    await strategy.claim({ campaignId: campaign.id, userId: 'u1', claimId: ids[0]! });
    await strategy.claim({ campaignId: campaign.id, userId: 'u2', claimId: ids[1]! });
    return { id: campaign.id, couponIds: ids };
  }

  async function violationsOf(campaignId: string, acknowledgedIds: string[]) {
    const truth = await readDatabaseTruth(database.db, campaignId, acknowledgedIds);
    const responses = {
      acknowledged: acknowledgedIds.length,
      usersAboveLimit: 0,
      doubleRedemptions: 0,
      soldOutResponses: 0,
      alreadyClaimedBelowLimit: 0,
      serverErrors: 0,
      unanswered: 0,
    };
    const figures = summarizeFigures(
      { stock: truth.stock, perUserLimit: 1, issuedCount: truth.issuedCount },
      responses,
      truth,
    );
    return { truth, violations: findViolations(figures) };
  }

  const insertCoupon = (campaignId: string, userId: string, slot: number) =>
    database.db.execute(
      sql`INSERT INTO coupons (id, campaign_id, user_id, user_slot, status)
          VALUES (${randomUUID()}, ${campaignId}, ${userId}, ${slot}, 'issued')`,
    );

  it('passes a campaign sold out through the strategy', async () => {
    const campaign = await soldOutCampaign();
    const { truth, violations } = await violationsOf(campaign.id, campaign.couponIds);
    expect(truth).toMatchObject({ stock: 2, issuedCount: 2, coupons: 2, distinctUsers: 2 });
    expect(violations).toEqual([]);
  });

  it('reports an extra coupon row inserted past the stock as an over-issue', async () => {
    const campaign = await soldOutCampaign();
    await insertCoupon(campaign.id, 'u3', 1);
    const { truth, violations } = await violationsOf(campaign.id, campaign.couponIds);
    expect(truth.coupons).toBe(3);
    expect(violations).toEqual([
      { invariant: 'over-issue', detail: '1 coupons beyond the stock of 2' },
      { invariant: 'issued-count-drift', detail: 'the campaign counts 2 issued but 3 coupons exist' },
    ]);
  });

  it('reports an acknowledged claim whose coupon is not in the database', async () => {
    const campaign = await soldOutCampaign();
    const { truth, violations } = await violationsOf(campaign.id, [...campaign.couponIds, randomUUID()]);
    expect(truth.missingAcknowledged).toBe(1);
    expect(violations.map((v) => v.invariant)).toContain('acknowledged-claim-missing');
  });

  it('reports a user above the limit and a double redemption once the guards are removed', async () => {
    // This database is ours alone: drop the guards a broken strategy would have to get past.
    await database.db.execute(sql`ALTER TABLE coupons DISABLE TRIGGER coupons_user_slot_within_limit`);
    await database.db.execute(sql`DROP INDEX redemptions_one_completed_per_coupon`);
    const campaign = await soldOutCampaign();
    await database.db.execute(sql`UPDATE campaigns SET total_quantity = 3 WHERE id = ${campaign.id}`);
    await database.db.execute(sql`UPDATE campaigns SET issued_count = 3 WHERE id = ${campaign.id}`);
    await insertCoupon(campaign.id, 'u1', 2);
    for (const order of ['o1', 'o2']) {
      await database.db.execute(
        sql`INSERT INTO redemptions (coupon_id, user_id, order_id, order_amount, discount_amount)
            VALUES (${campaign.couponIds[0]!}, 'u1', ${order}, 5000, 100)`,
      );
    }
    const { truth, violations } = await violationsOf(campaign.id, campaign.couponIds);
    expect(truth).toMatchObject({ coupons: 3, usersAboveLimit: 1, doubleRedemptions: 1 });
    expect(violations.map((v) => v.invariant)).toEqual(['user-above-limit', 'double-redemption']);
  });
});
