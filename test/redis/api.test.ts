/**
 * The redis-gate through the HTTP API, wired by buildApp from the configuration alone:
 * 202 + Location, claim status pending → issued, owner checks, failed claims, readiness.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForDrain } from '../../src/gate/drain.js';
import { insertDeadLetter } from '../../src/gate/persist.js';
import type { StreamWorker } from '../../src/gate/worker.js';
import { bearer, createCampaign, problemOf, type TestApp, testUserId } from '../helpers/app.js';
import { createGateApp, type GateApp } from '../helpers/gate.js';

describe('redis-gate over HTTP', () => {
  let gate: GateApp;
  let t: TestApp;
  let worker: StreamWorker;

  beforeAll(async () => {
    gate = await createGateApp();
    ({ t, worker } = gate);
  });
  afterAll(async () => {
    await gate?.close();
  });

  const claim = async (campaignId: string, userId: string) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaignId}/claims`,
      headers: bearer(await t.userToken(userId)),
    });
  const status = (claimId: string, token: string) =>
    t.app.inject({ method: 'GET', url: `/v1/claims/${claimId}`, headers: bearer(token) });

  it('answers 202 pending with a Location, then reports the claim issued once the worker persisted it', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 5 });
    const response = await claim(campaign.id, 'alice');
    expect(response.statusCode).toBe(202);
    const body = response.json() as { claimId: string; position: number; status: string };
    expect(body).toMatchObject({ status: 'pending', position: 1 });
    expect(response.headers.location).toBe(`/v1/claims/${body.claimId}`);

    const pending = await status(body.claimId, await t.userToken('alice'));
    expect(pending.json()).toEqual({
      claimId: body.claimId,
      campaignId: campaign.id,
      status: 'pending',
      position: 1,
    });

    worker.start();
    await waitForDrain(t.database.db, t.app.services.redis!, { timeoutMs: 20_000 });
    const issued = await status(body.claimId, await t.userToken('alice'));
    expect(issued.statusCode).toBe(200);
    expect(issued.json()).toMatchObject({
      status: 'issued',
      coupon: { id: body.claimId, userId: testUserId('alice') },
    });
  });

  it('refuses another user the claim status and lets an admin read it', async () => {
    const campaign = await createCampaign(t);
    const body = (await claim(campaign.id, 'bob')).json() as { claimId: string };
    expect(problemOf(await status(body.claimId, await t.userToken('mallory')))).toMatchObject({
      status: 403,
      body: { code: 'forbidden' },
    });
    expect((await status(body.claimId, t.adminToken)).statusCode).toBe(200);
  });

  it('answers 404 for an unknown claim and reports a dead-lettered claim as failed', async () => {
    expect((await status(randomUUID(), t.adminToken)).statusCode).toBe(404);
    const campaign = await createCampaign(t);
    const claimId = randomUUID();
    await insertDeadLetter(
      t.database.db,
      campaign.id,
      { entryId: '1-0', fields: ['c', claimId], claim: undefined, deliveries: 5 },
      'persist-failed',
      'boom',
      undefined,
    );
    expect((await status(claimId, t.adminToken)).json()).toMatchObject({
      status: 'failed',
      reason: 'persist-failed',
    });
  });

  it('rejects claims with problem+json once the campaign is suspended through the API', async () => {
    const campaign = await createCampaign(t);
    expect((await claim(campaign.id, 'carol')).statusCode).toBe(202);
    const patch = await t.app.inject({
      method: 'PATCH',
      url: `/v1/campaigns/${campaign.id}`,
      headers: bearer(t.adminToken),
      payload: { status: 'suspended' },
    });
    expect(patch.statusCode).toBe(200);
    expect(problemOf(await claim(campaign.id, 'dave'))).toMatchObject({
      status: 409,
      body: { code: 'campaign-not-active' },
    });
  });

  it('reports Redis in /readyz', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(response.json()).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
  });
});
