/**
 * Dead letters through the HTTP API with the redis-gate on PostgreSQL and the test Redis: a claim
 * the worker dead-letters (its user slot already taken by a coupon written behind the gate's
 * back) is listed with its reason, retried once the operator removed the conflicting coupon, and
 * persisted by the worker; reconcile then balances (I4). A letter without a whole claim is
 * `not-retryable`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDrain } from '../../src/gate/drain.js';
import { insertDeadLetter } from '../../src/gate/persist.js';
import { reconcile } from '../../src/gate/reconcile.js';
import { bearer, createCampaign, problemOf, type TestApp } from '../helpers/app.js';
import { createGateApp, type GateApp, slotTakenDeadLetter } from '../helpers/gate.js';

describe('dead letters over HTTP with the redis-gate', () => {
  let gate: GateApp;
  let t: TestApp;

  beforeAll(async () => {
    gate = await createGateApp();
    ({ t } = gate);
  });
  afterAll(async () => {
    await gate?.close();
  });

  const retry = (id: string) =>
    t.app.inject({ method: 'POST', url: `/v1/dead-letters/${id}/retry`, headers: bearer(t.adminToken) });
  const letters = async (campaignId: string) =>
    (
      await t.app.inject({
        method: 'GET',
        url: `/v1/dead-letters?campaignId=${campaignId}`,
        headers: bearer(t.adminToken),
      })
    ).json().items as { id: string; claimId: string; reason: string; retryable: boolean }[];

  it('retries a slot-taken dead letter: queued again, persisted by the worker, reconcile balanced', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 10 });
    const { claimId, freeSlot } = await slotTakenDeadLetter(gate, campaign.id, 'ann');
    const [letter] = await letters(campaign.id);
    expect(letter).toMatchObject({ claimId, reason: 'slot-taken', retryable: true });

    await freeSlot();
    const retried = await retry(letter!.id);
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toEqual({ id: letter!.id, claimId, status: 'requeued' });
    expect(await letters(campaign.id)).toEqual([]);

    await waitForDrain(t.database.db, t.app.services.redis!, { timeoutMs: 20_000 });
    const status = await t.app.inject({
      method: 'GET',
      url: `/v1/claims/${claimId}`,
      headers: bearer(t.adminToken),
    });
    expect(status.json()).toMatchObject({ status: 'issued', coupon: { id: claimId, userId: 'ann' } });
    const [row] = await reconcile(t.database.db, t.app.services.redis!, {
      campaignIds: [campaign.id],
      attempts: 1,
    });
    expect(row).toMatchObject({ gateIssued: 1, persisted: 1, pending: 0, deadLetters: 0, ok: true });
  });

  it('refuses to retry a dead letter without a whole claim (not-retryable) and keeps it', async () => {
    const campaign = await createCampaign(t);
    await insertDeadLetter(
      t.database.db,
      campaign.id,
      { entryId: '1-0', fields: ['c', randomUUID()], claim: undefined, deliveries: 1 },
      'malformed-entry',
      'no user id',
      undefined,
    );
    const [letter] = await letters(campaign.id);
    expect(letter).toMatchObject({ reason: 'malformed-entry', retryable: false });
    expect(problemOf(await retry(letter!.id))).toMatchObject({
      status: 409,
      body: { code: 'not-retryable' },
    });
    expect(await letters(campaign.id)).toHaveLength(1);
  });
});
