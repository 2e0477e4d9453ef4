/**
 * Archival on PostgreSQL and PGlite: a run that crashes part-way (an error injected inside a
 * batch's transaction, after the copy and before the delete) leaves every row in exactly one
 * place, and a rerun finishes the work; archived codes stay findable; dry runs change nothing;
 * one run at a time; the in-process schedule runs it.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { ArchiveScheduler } from '../../src/archive/scheduler.js';
import { type ArchiveReport, runArchive } from '../../src/archive/service.js';
import { type Db, queryRows } from '../../src/db/client.js';
import { bearer, createCampaign, useTestApp } from '../helpers/app.js';
import { ENGINES } from '../support/database.js';

const DAY = 86_400;
const AFTER = 180 * DAY;

/** Where each row of `campaignIds` is: counts live, archived, and in both (must be 0). */
async function placement(db: Db, campaignIds: string[]) {
  const ids = `{${campaignIds.join(',')}}`;
  const [row] = await queryRows<Record<string, number>>(
    db,
    sql`SELECT
      (SELECT count(*)::int FROM campaigns WHERE id = ANY(${ids}::uuid[])) AS live_campaigns,
      (SELECT count(*)::int FROM archived_campaigns WHERE id = ANY(${ids}::uuid[])) AS archived_campaigns,
      (SELECT count(*)::int FROM campaigns WHERE id IN (SELECT id FROM archived_campaigns)) AS both_campaigns,
      (SELECT count(*)::int FROM coupons WHERE campaign_id = ANY(${ids}::uuid[])) AS live_coupons,
      (SELECT count(*)::int FROM archived_coupons WHERE campaign_id = ANY(${ids}::uuid[])) AS archived_coupons,
      (SELECT count(*)::int FROM coupons WHERE id IN (SELECT id FROM archived_coupons)) AS both_coupons,
      (SELECT count(*)::int FROM redemptions r JOIN coupons c ON c.id = r.coupon_id
        WHERE c.campaign_id = ANY(${ids}::uuid[])) AS live_redemptions,
      (SELECT count(*)::int FROM archived_redemptions WHERE campaign_id = ANY(${ids}::uuid[])) AS archived_redemptions,
      (SELECT count(*)::int FROM redemptions WHERE id IN (SELECT id FROM archived_redemptions)) AS both_redemptions`,
  );
  return row!;
}

describe.each(ENGINES)('archival on %s', (engine) => {
  const t = useTestApp(engine);

  /** A campaign with `codes` coupons of which `redeemed` redeemed, soft-deleted `deletedDaysAgo` ago. */
  async function deletedCampaign(codes: number, redeemed: number, deletedDaysAgo: number | null) {
    const campaign = await createCampaign(t, { totalQuantity: codes });
    const generated = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaign.id}/codes`,
      headers: bearer(t.adminToken),
      payload: { count: codes },
    });
    expect(generated.statusCode).toBe(201);
    await t.database.db.execute(
      sql`WITH picked AS (
            UPDATE coupons SET status = 'redeemed', redeemed_at = now()
            WHERE id IN (SELECT id FROM coupons WHERE campaign_id = ${campaign.id} LIMIT ${redeemed}) RETURNING id
          )
          INSERT INTO redemptions (coupon_id, user_id, order_id, order_amount, discount_amount)
          SELECT id, 'buyer', 'order-' || id, 5000, 1000 FROM picked`,
    );
    if (deletedDaysAgo !== null) {
      await t.database.db.execute(
        sql`UPDATE campaigns SET deleted_at = now() - make_interval(days => ${deletedDaysAgo}) WHERE id = ${campaign.id}`,
      );
    }
    return campaign.id;
  }

  it('leaves every row in exactly one place when a run crashes mid-batch, and a rerun finishes', async () => {
    const due = [await deletedCampaign(2_500, 1_200, 200), await deletedCampaign(300, 10, 181)];
    const recent = await deletedCampaign(50, 5, 10);
    const live = await deletedCampaign(50, 5, null);
    const others = [recent, live];
    const othersBefore = await placement(t.database.db, others);
    const original = await placement(t.database.db, due);
    expect(original).toMatchObject({ live_campaigns: 2, live_coupons: 2_800, live_redemptions: 1_210 });

    // Batches: redemptions 1000 + 200, then coupons 1000, 1000 — the 4th fails after its copy.
    let batches = 0;
    const crashed = runArchive(t.database.db, {
      afterSeconds: AFTER,
      beforeCommit: () => {
        if (++batches === 4) throw new Error('injected crash');
      },
    });
    await expect(crashed).rejects.toThrow('injected crash');
    const afterCrash = await placement(t.database.db, due);
    expect(afterCrash).toEqual({
      live_campaigns: 2,
      archived_campaigns: 0,
      both_campaigns: 0,
      live_coupons: 1_800,
      archived_coupons: 1_000,
      both_coupons: 0,
      live_redemptions: 10,
      archived_redemptions: 1_200,
      both_redemptions: 0,
    });
    const [failed] = await queryRows<{ status: string; error: string }>(
      t.database.db,
      sql`SELECT status, error FROM jobs WHERE kind = 'archive' ORDER BY created_at DESC LIMIT 1`,
    );
    expect(failed).toEqual({ status: 'failed', error: 'injected crash' });

    const rerun = await runArchive(t.database.db, { afterSeconds: AFTER });
    expect(rerun.rows).toEqual({ redemptions: 10, coupons: 1_800, campaigns: 2 });
    expect(await placement(t.database.db, due)).toEqual({
      live_campaigns: 0,
      archived_campaigns: 2,
      both_campaigns: 0,
      live_coupons: 0,
      archived_coupons: 2_800,
      both_coupons: 0,
      live_redemptions: 0,
      archived_redemptions: 1_210,
      both_redemptions: 0,
    });
    expect(await placement(t.database.db, others)).toEqual(othersBefore);

    const again = await runArchive(t.database.db, { afterSeconds: AFTER });
    expect(again.rows).toEqual({ redemptions: 0, coupons: 0, campaigns: 0 });
  });

  it('still finds an archived code, with its status, after archival', async () => {
    const campaignId = await deletedCampaign(3, 1, 365);
    const [redeemed] = await queryRows<{ code: string }>(
      t.database.db,
      sql`SELECT code FROM coupons WHERE campaign_id = ${campaignId} AND status = 'redeemed'`,
    );
    await runArchive(t.database.db, { afterSeconds: AFTER });
    const found = await t.app.inject({
      url: `/v1/archive/coupons?code=${redeemed!.code}`,
      headers: bearer(t.adminToken),
    });
    expect(found.statusCode).toBe(200);
    expect(found.json().items).toEqual([
      {
        coupon: expect.objectContaining({ campaignId, code: redeemed!.code, status: 'redeemed' }),
        archivedAt: expect.any(String),
      },
    ]);
    const live = await t.app.inject({
      url: `/v1/coupons?code=${redeemed!.code}`,
      headers: bearer(t.adminToken),
    });
    expect(live.json().items).toEqual([]);
    const none = await t.app.inject({
      url: '/v1/archive/coupons?code=NEVERISSUED',
      headers: bearer(t.adminToken),
    });
    expect(none.json().items).toEqual([]);
  });

  it('counts without moving anything on a dry run', async () => {
    const campaignId = await deletedCampaign(40, 4, 200);
    const before = await placement(t.database.db, [campaignId]);
    const report = await runArchive(t.database.db, { afterSeconds: AFTER, dryRun: true });
    expect(report).toEqual({
      dryRun: true,
      campaigns: 1,
      rows: { redemptions: 4, coupons: 40, campaigns: 1 },
    });
    expect(await placement(t.database.db, [campaignId])).toEqual(before);
    await runArchive(t.database.db, { afterSeconds: AFTER });
  });

  it('runs one archival at a time', async () => {
    await deletedCampaign(2_000, 0, 200);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered: () => void = () => {};
    const inFirstBatch = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const first = runArchive(t.database.db, {
      afterSeconds: AFTER,
      beforeCommit: async () => {
        entered();
        await gate;
      },
    });
    await inFirstBatch;
    // On PGlite (one connection) the second run must not wait on the first's open transaction:
    // it is checked once the first has reached its batch and released it.
    const second =
      engine === 'postgres' ? await runArchive(t.database.db, { afterSeconds: AFTER }) : undefined;
    release();
    const done = await first;
    if (second) expect(second.skipped).toBe('already-running');
    expect(done.rows.coupons).toBe(2_000);
  });

  it('archives on the in-process schedule', async () => {
    const campaignId = await deletedCampaign(5, 0, 1);
    const ran = new Promise<ArchiveReport>((resolve, reject) => {
      const scheduler = new ArchiveScheduler(t.database.db, {
        afterSeconds: 0,
        intervalSeconds: 1,
        onRun: (report) => {
          if (report.rows.campaigns > 0) void scheduler.stop().then(() => resolve(report));
        },
        onError: reject,
      });
      scheduler.start();
    });
    const report = await ran;
    expect(report.rows.coupons).toBeGreaterThanOrEqual(5);
    expect((await placement(t.database.db, [campaignId])).archived_coupons).toBe(5);
  });
});
