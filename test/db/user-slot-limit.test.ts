/**
 * The database's own guard of the per-user limit (trigger of migrations 0001/0003): whatever a
 * strategy computes, a coupon's user_slot must lie within its campaign's per_user_limit — for
 * multi-row inserts like the redis-gate worker's batches, and for updates.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignService } from '../../src/campaigns/service.js';
import { pgError, queryRows } from '../../src/db/client.js';
import { createTestDatabase, ENGINES, type TestDatabase } from '../support/database.js';

describe.each(ENGINES)('per-user limit in the database on %s', (engine) => {
  let database: TestDatabase;
  let campaignId: string;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    const campaign = await new CampaignService(database.db).create({
      name: 'guard',
      status: 'active',
      totalQuantity: 100,
      perUserLimit: 2,
      startsAt: null,
      endsAt: null,
      couponValidity: null,
      discount: { type: 'fixed', amount: 100 },
      minOrderAmount: null,
    });
    campaignId = campaign.id;
  });
  afterAll(async () => {
    await database?.close();
  });

  const insert = (rows: { user: string; slot: number }[]) =>
    queryRows(
      database.db,
      sql`INSERT INTO coupons (id, campaign_id, user_id, user_slot)
          SELECT gen_random_uuid(), ${campaignId}, u, s
          FROM unnest(${sql.param(rows.map((r) => r.user))}::text[], ${sql.param(rows.map((r) => r.slot))}::int[]) AS t(u, s)`,
    );
  const failure = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (error) {
      return pgError(error);
    }
    return undefined;
  };
  const count = async () =>
    (
      await queryRows<{ n: number }>(
        database.db,
        sql`SELECT count(*)::int AS n FROM coupons WHERE campaign_id = ${campaignId}`,
      )
    )[0]!.n;

  it('refuses a multi-row insert with one slot above the limit, inserting none of its rows', async () => {
    const before = await count();
    const error = await failure(
      insert([
        { user: 'a', slot: 1 },
        { user: 'b', slot: 3 },
        { user: 'c', slot: 1 },
      ]),
    );
    expect(error).toMatchObject({ code: '23514', constraint: 'coupons_user_slot_within_limit' });
    expect(await count()).toBe(before);
  });

  it('accepts slots within the limit and refuses an update beyond it', async () => {
    await insert([
      { user: 'd', slot: 1 },
      { user: 'd', slot: 2 },
    ]);
    const [row] = await queryRows<{ id: string }>(
      database.db,
      sql`SELECT id FROM coupons WHERE campaign_id = ${campaignId} AND user_id = 'd' AND user_slot = 2`,
    );
    const error = await failure(
      queryRows(database.db, sql`UPDATE coupons SET user_slot = 5 WHERE id = ${row!.id}`),
    );
    expect(error).toMatchObject({ code: '23514', constraint: 'coupons_user_slot_within_limit' });
  });
});
