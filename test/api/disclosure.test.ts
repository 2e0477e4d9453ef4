/**
 * What the API must not give away or get wrong (issue 12, item 5), on PostgreSQL and PGlite: a
 * dead letter's error text (SQL and parameters) stays with the operators, drafts do not exist to
 * claims and shared codes, exported codes never run as spreadsheet formulas, and the same body
 * with its keys in another order is the same idempotent request.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { insertCodeBatch } from '../../src/codes/repository.js';
import { timeOrderedIds } from '../../src/db/ids.js';
import { insertDeadLetter } from '../../src/gate/persist.js';
import { bearer, createCampaign, problemOf, testUserId, useTestApp } from '../helpers/app.js';
import { ENGINES } from '../support/database.js';

describe.each(ENGINES)('what the API does not give away on %s', (engine) => {
  const t = useTestApp(engine);
  let campaignId: string;

  beforeAll(async () => {
    campaignId = (await createCampaign(t, { totalQuantity: 50 })).id;
  });

  /** A dead letter of a claim by `userId`, stored with `error` as the worker would. */
  /** A dead letter of a claim by the test user `name`. */
  async function deadLetter(name: string, reason: Parameters<typeof insertDeadLetter>[3], error: string) {
    const userId = testUserId(name);
    const claimId = randomUUID();
    const claim = { claimId, userId, userSlot: 1, admittedMs: Date.now(), campaignId };
    await insertDeadLetter(
      t.database.db,
      campaignId,
      { entryId: '1-0', fields: ['c', claimId, 'u', userId], claim, deliveries: 5 },
      reason,
      error,
      undefined,
    );
    return claimId;
  }

  it("shows a dead letter's owner its stable reason, never the error text", async () => {
    const secret = 'Failed query: INSERT INTO coupons ... params: 4111-1111-1111-1111';
    const claimId = await deadLetter('owner', 'persist-failed', secret);
    const response = await t.app.inject({
      method: 'GET',
      url: `/v1/claims/${claimId}`,
      headers: bearer(await t.userToken('owner')),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ claimId, campaignId, status: 'failed', reason: 'persist-failed' });
    expect(response.body).not.toContain('INSERT');
    // The whole parameter, not '4111' alone: a random claim or campaign id may hold those four digits.
    expect(response.body).not.toContain('4111-1111-1111-1111');
  });

  it.each([
    ['malformed stream entry', 'malformed-entry'],
    ["the user's slot was already taken by another coupon (gate reloaded mid-batch)", 'slot-taken'],
    ['connection terminated unexpectedly', 'persist-failed'],
  ])('names the reason of a dead letter written before the codes ("%s") as %s', async (error, reason) => {
    const claimId = randomUUID();
    await insertDeadLetter(
      t.database.db,
      campaignId,
      { entryId: '2-0', fields: ['c', claimId], claim: undefined, deliveries: 5 },
      'persist-failed',
      'x',
      undefined,
    );
    // Rewrite the stored error as the worker wrote it before reasons existed.
    await t.database.db.execute(sql`UPDATE dead_letters SET error = ${error} WHERE claim_id = ${claimId}`);
    const response = await t.app.inject({
      method: 'GET',
      url: `/v1/claims/${claimId}`,
      headers: bearer(t.adminToken),
    });
    expect(response.json()).toMatchObject({ status: 'failed', reason });
  });

  it('answers 404 to a claim on a draft, as GET does', async () => {
    const draft = await createCampaign(t, { status: 'draft' });
    const user = bearer(await t.userToken('curious'));
    const read = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${draft.id}`, headers: user });
    const claim = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${draft.id}/claims`,
      headers: user,
    });
    expect(problemOf(read).body.code).toBe('not-found');
    expect(problemOf(claim)).toMatchObject({ status: 404, body: { code: 'not-found' } });
  });

  it("answers a draft's shared code as an unknown one, on validation and redemption", async () => {
    const draft = await createCampaign(t, { status: 'draft' });
    const set = await t.app.inject({
      method: 'PUT',
      url: `/v1/campaigns/${draft.id}/shared-code`,
      headers: bearer(t.adminToken),
      payload: { code: 'DRAFTCODE1' },
    });
    expect(set.statusCode).toBe(200);
    const user = bearer(await t.userToken('curious'));
    const validation = await t.app.inject({
      method: 'POST',
      url: '/v1/redemptions/validate',
      headers: user,
      payload: { code: 'DRAFTCODE1', orderAmount: 5000 },
    });
    expect(validation.json()).toMatchObject({ valid: false, reason: 'not-found' });
    const redemption = await t.app.inject({
      method: 'POST',
      url: '/v1/redemptions',
      headers: user,
      payload: { code: 'DRAFTCODE1', orderId: 'o-1', orderAmount: 5000 },
    });
    expect(problemOf(redemption)).toMatchObject({ status: 404, body: { code: 'not-found' } });
  });

  it("answers a code generated ahead of a draft's launch as an unknown code", async () => {
    const draft = await createCampaign(t, { status: 'draft', totalQuantity: 10 });
    await insertCodeBatch(t.database.db, draft.id, { codes: ['EARLYBIRD0001'], ids: timeOrderedIds(1) });
    const validation = await t.app.inject({
      method: 'POST',
      url: '/v1/redemptions/validate',
      headers: bearer(await t.userToken('curious')),
      payload: { code: 'EARLYBIRD0001', orderAmount: 5000 },
    });
    expect(validation.json()).toMatchObject({ valid: false, reason: 'not-found' });
  });

  it('exports a code starting with "-" as text, not as a formula', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 10 });
    // Generated before such charsets were refused.
    await insertCodeBatch(t.database.db, campaign.id, { codes: ['-2+3ABCDEFGH'], ids: timeOrderedIds(1) });
    const csv = await t.app.inject({
      method: 'GET',
      url: `/v1/campaigns/${campaign.id}/codes.csv`,
      headers: bearer(t.adminToken),
    });
    expect(csv.statusCode).toBe(200);
    const [, row] = csv.body.split('\n');
    expect(row).toMatch(/^'-2\+3ABCDEFGH,issued,/);
  });

  it.each([
    ['a charset holding "-" without a prefix', { count: 5, charset: '-0123456789' }, 'body/charset'],
    ['a prefix starting with "-"', { count: 5, prefix: '-X' }, 'body/prefix'],
  ])('refuses to generate codes with %s', async (_label, payload, field) => {
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaignId}/codes`,
      headers: bearer(t.adminToken),
      payload,
    });
    expect(problemOf(response)).toMatchObject({ status: 400, body: { code: 'validation-failed' } });
    expect(problemOf(response).body.errors?.map((e) => e.field)).toContain(field);
  });

  it('generates codes with "-" inside when the prefix starts them safely', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaignId}/codes`,
      headers: bearer(t.adminToken),
      payload: { count: 5, prefix: 'VIP-', charset: '-0123456789' },
    });
    expect(response.statusCode).toBe(201);
  });

  it('replays an idempotent redemption whose body lists its keys in another order', async () => {
    const claim = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaignId}/claims`,
      headers: bearer(await t.userToken('orderly')),
    });
    const couponId = claim.json().coupon.id as string;
    const headers = { ...bearer(await t.userToken('orderly')), 'idempotency-key': `k-${randomUUID()}` };
    const first = await t.app.inject({
      method: 'POST',
      url: '/v1/redemptions',
      headers,
      payload: { couponId, orderId: 'o-7', orderAmount: 5000 },
    });
    const again = await t.app.inject({
      method: 'POST',
      url: '/v1/redemptions',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: `{"orderAmount":5000,"orderId":"o-7","couponId":"${couponId}"}`,
    });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
  });
});
