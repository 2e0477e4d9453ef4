/**
 * db-batch beyond the conformance suite: what one batch decides (the earliest claims get the last
 * stock, several claims of one user against the per-user limit), that a batch is one transaction,
 * that one bad claim does not fail the others, and two processes racing on one campaign.
 *
 * Batches are predictable: claims sent in one synchronous loop form one batch (it starts at the end
 * of the event-loop turn), and claims sent once that batch has started wait for the next one.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignService } from '../../src/campaigns/service.js';
import { queryRows } from '../../src/db/client.js';
import { DomainError } from '../../src/errors.js';
import { DbBatchStrategy } from '../../src/issuance/strategies/db-batch.js';
import { campaignInput } from '../support/campaigns.js';
import { createTestDatabase, ENGINES, type TestDatabase } from '../support/database.js';

/** `issued`, the problem code of a DomainError, or `error` for anything else. */
const outcomeOf = (result: PromiseSettledResult<unknown>) =>
  result.status === 'fulfilled'
    ? 'issued'
    : result.reason instanceof DomainError
      ? result.reason.code
      : 'error';

describe.each(ENGINES)('db-batch on %s', (engine) => {
  let database: TestDatabase;
  let campaigns: CampaignService;
  let strategy: DbBatchStrategy;

  beforeAll(async () => {
    database = await createTestDatabase(engine);
    campaigns = new CampaignService(database.db);
    strategy = new DbBatchStrategy(database.db, { maxBatch: 100 });
  });
  afterAll(async () => {
    await database?.close();
  });

  const coupons = (campaignId: string) =>
    queryRows<{ id: string; user_id: string; user_slot: number; issued_at: string }>(
      database.db,
      sql`SELECT id, user_id, user_slot, issued_at::text AS issued_at FROM coupons
          WHERE campaign_id = ${campaignId} ORDER BY user_id, user_slot`,
    );
  const issuedCount = async (campaignId: string) =>
    (
      await queryRows<{ n: number }>(
        database.db,
        sql`SELECT issued_count AS n FROM campaigns WHERE id = ${campaignId}`,
      )
    )[0]!.n;

  it('gives the last stock to the earliest claims of a batch and holds the per-user limit inside it', async () => {
    const campaign = await campaigns.create(campaignInput({ totalQuantity: 4, perUserLimit: 2 }));
    const users = ['first', 'ann', 'ann', 'ann', 'bob', 'cat', 'bob', 'dan'];
    const claimIds = users.map(() => randomUUID());
    const claim = (i: number) =>
      strategy.claim({ campaignId: campaign.id, userId: users[i]!, claimId: claimIds[i]! });
    const first = claim(0);
    // The first batch has started (its immediate ran before this one): the others wait for the next.
    await setImmediate();
    const results = await Promise.allSettled([first, ...users.slice(1).map((_, i) => claim(i + 1))]);
    // Batch 1: first (3 left). Batch 2 in order: ann, ann (1 left), ann over her limit, bob (0 left),
    // then cat, bob's second and dan find no stock.
    expect(results.map(outcomeOf)).toEqual([
      'issued',
      'issued',
      'issued',
      'already-claimed',
      'issued',
      'sold-out',
      'sold-out',
      'sold-out',
    ]);
    const stored = await coupons(campaign.id);
    expect(stored.map(({ id, user_id, user_slot }) => [user_id, user_slot, id])).toEqual([
      ['ann', 1, claimIds[1]],
      ['ann', 2, claimIds[2]],
      ['bob', 1, claimIds[4]],
      ['first', 1, claimIds[0]],
    ]);
    expect(await issuedCount(campaign.id)).toBe(4);
    // One transaction per batch: now() (the issue time) is that of its transaction.
    const batchTwo = stored.filter(({ user_id }) => user_id !== 'first').map(({ issued_at }) => issued_at);
    expect(new Set(batchTwo).size).toBe(1);
    expect(batchTwo[0]).not.toBe(stored.find(({ user_id }) => user_id === 'first')!.issued_at);
  });

  it('names a user at the limit before the batch already-claimed, even with stock left', async () => {
    const campaign = await campaigns.create(campaignInput({ totalQuantity: 10, perUserLimit: 1 }));
    await strategy.claim({ campaignId: campaign.id, userId: 'holder', claimId: randomUUID() });
    const results = await Promise.allSettled(
      ['opener', 'holder', 'newcomer', 'holder'].map((userId) =>
        strategy.claim({ campaignId: campaign.id, userId, claimId: randomUUID() }),
      ),
    );
    expect(results.map(outcomeOf)).toEqual(['issued', 'already-claimed', 'issued', 'already-claimed']);
    expect(await issuedCount(campaign.id)).toBe(3);
  });

  it('decides the others when one claim of a batch fails (a claim id already used)', async () => {
    const campaign = await campaigns.create(campaignInput({ totalQuantity: 10 }));
    const used = randomUUID();
    const requests = [
      { userId: 'opener', claimId: used },
      { userId: 'u1', claimId: randomUUID() },
      { userId: 'u2', claimId: used },
      { userId: 'u3', claimId: randomUUID() },
    ];
    const results = await Promise.allSettled(
      requests.map((request) => strategy.claim({ campaignId: campaign.id, ...request })),
    );
    expect(results.map(outcomeOf)).toEqual(['issued', 'issued', 'error', 'issued']);
    expect((await coupons(campaign.id)).map(({ user_id }) => user_id)).toEqual(['opener', 'u1', 'u3']);
    expect(await issuedCount(campaign.id)).toBe(3);
  });

  it('rejects every claim of a batch on an unknown campaign as not-found', async () => {
    const campaignId = randomUUID();
    const results = await Promise.allSettled(
      ['a', 'b', 'c'].map((userId) => strategy.claim({ campaignId, userId, claimId: randomUUID() })),
    );
    expect(results.map(outcomeOf)).toEqual(['not-found', 'not-found', 'not-found']);
  });

  it('issues exactly the stock when two processes batch claims on one campaign', async () => {
    const campaign = await campaigns.create(campaignInput({ totalQuantity: 100, perUserLimit: 2 }));
    const other = new DbBatchStrategy(database.db, { maxBatch: 100 });
    const results = await Promise.allSettled(
      Array.from({ length: 400 }, (_, i) =>
        (i % 2 ? strategy : other).claim({
          campaignId: campaign.id,
          userId: `u${i % 150}`,
          claimId: randomUUID(),
        }),
      ),
    );
    const outcomes = results.map(outcomeOf);
    expect(outcomes.filter((o) => o === 'issued')).toHaveLength(100);
    expect(outcomes.filter((o) => o !== 'issued' && o !== 'sold-out' && o !== 'already-claimed')).toEqual([]);
    const stored = await coupons(campaign.id);
    expect(stored).toHaveLength(100);
    expect(await issuedCount(campaign.id)).toBe(100);
  });
});
