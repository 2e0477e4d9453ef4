/**
 * Webhooks on PostgreSQL and PGlite, end to end: the admin API, every event type produced by its
 * real action and delivered by a real dispatcher to a real HTTP receiver, signatures verified by
 * the reference implementation (`standardwebhooks` `Webhook.verify`), secret rotation, retries
 * with back-off under one webhook-id, 410 disabling an endpoint, the outbox writing nothing for
 * refused or rolled-back changes or unsubscribed types, and bad input on every route.
 */
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client.js';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.js';
import { WEBHOOK_EVENT_TYPES } from '../../src/webhooks/outbox.js';
import { purgeSettledEvents } from '../../src/webhooks/repository.js';
import { bearer, createCampaign, problemOf, type TestApp, useTestApp } from '../helpers/app.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { ENGINES } from '../support/database.js';

/** First retry delay: the schedule becomes 10 ms, 600 ms, 3.6 s, ... */
const RETRY_BASE_MS = 10;

const silent = { warn: () => {} };

describe.each(ENGINES)('webhooks on %s', (engine) => {
  const t = useTestApp(engine, {
    config: { webhooks: { ...defaults(), allowPrivateUrls: true, retryBaseMs: RETRY_BASE_MS } },
  });
  const receiver = new WebhookReceiver();
  let dispatcher: WebhookDispatcher;
  let userSeq = 0;

  beforeAll(async () => {
    await receiver.start();
    dispatcher = new WebhookDispatcher({
      db: t.database.db,
      concurrency: 8,
      pollMs: 20,
      retryBaseMs: RETRY_BASE_MS,
      timeoutMs: 5000,
      allowPrivateUrls: true,
      logger: silent,
    });
    dispatcher.start();
  });
  afterAll(async () => {
    await dispatcher.stop();
    await receiver.close();
  });

  const admin = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    t.app.inject({ method, url, headers: bearer(t.adminToken), ...(payload ? { payload } : {}) });

  /** Creates an endpoint on the receiver (with a path naming the test) for `events`. */
  const subscribe = async (events: readonly string[], path = `/${++userSeq}`) => {
    const response = await admin('POST', '/v1/webhooks', { url: `${receiver.url}${path}`, events });
    expect(response.statusCode).toBe(201);
    return response.json() as { id: string; secret: string; url: string; events: string[] };
  };

  const claim = async (campaignId: string, userId = `user-${++userSeq}`) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaignId}/claims`,
      headers: bearer(await t.userToken(userId)),
    });

  const eventCount = async (type: string) =>
    (
      await queryRows<{ n: number }>(
        t.database.db,
        sql`SELECT count(*)::int AS n FROM webhook_events WHERE type = ${type}`,
      )
    )[0]!.n;

  it('creates an endpoint with a whsec_ secret shown once, and lists, reads, changes and deletes it', async () => {
    const created = await subscribe(['coupon.issued']);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(created.secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);
    const read = await admin('GET', `/v1/webhooks/${created.id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).not.toHaveProperty('secret');
    expect(read.json()).toMatchObject({ url: created.url, events: ['coupon.issued'], enabled: true });
    const list = await admin('GET', '/v1/webhooks?limit=200');
    expect(list.json().items.map((e: { id: string }) => e.id)).toContain(created.id);
    const patched = await admin('PATCH', `/v1/webhooks/${created.id}`, {
      events: ['coupon.issued', 'coupon.redeemed'],
      description: 'shop backend',
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      events: ['coupon.issued', 'coupon.redeemed'],
      description: 'shop backend',
    });
    expect((await admin('DELETE', `/v1/webhooks/${created.id}`)).statusCode).toBe(204);
    expect((await admin('GET', `/v1/webhooks/${created.id}`)).statusCode).toBe(404);
    expect((await admin('DELETE', `/v1/webhooks/${created.id}`)).statusCode).toBe(404);
    // No endpoint left: a claim writes no outbox row at all.
    expect((await claim((await createCampaign(t)).id)).statusCode).toBe(201);
    const rows = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM webhook_events`,
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('delivers coupon.issued signed so that the reference Webhook.verify accepts it', async () => {
    const endpoint = await subscribe(['coupon.issued']);
    const campaign = await createCampaign(t);
    const claimed = await claim(campaign.id);
    expect(claimed.statusCode).toBe(201);
    const couponId = claimed.json().coupon.id as string;
    const [request] = await waitForData(receiver, (r) => r.json.data.id === couponId);
    expect(request!.id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(Number(request!.timestamp)).toBeGreaterThan(1_700_000_000);
    expect(request!.signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const verified = new Webhook(endpoint.secret).verify(request!.body, {
      'webhook-id': request!.id,
      'webhook-timestamp': request!.timestamp,
      'webhook-signature': request!.signature,
    });
    expect(verified).toMatchObject({
      type: 'coupon.issued',
      data: { id: couponId, campaignId: campaign.id, status: 'issued', userId: expect.any(String) },
    });
    expect(request!.json.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Another secret does not verify it.
    const other = await subscribe(['campaign.created']);
    expect(() =>
      new Webhook(other.secret).verify(request!.body, {
        'webhook-id': request!.id,
        'webhook-timestamp': request!.timestamp,
        'webhook-signature': request!.signature,
      }),
    ).toThrow();
  });

  it('produces every event type from its real action, once each', async () => {
    await subscribe(
      WEBHOOK_EVENT_TYPES.filter((type) => type !== 'claim.dead_lettered'),
      '/everything',
    );
    // campaign.created, campaign.updated; a stock of 1 sells out at the first claim; a budget of
    // one discount is exhausted by the first redemption.
    const campaign = await createCampaign(t, {
      totalQuantity: 1,
      budget: 1000,
      discount: { type: 'fixed', amount: 1000 },
    });
    expect((await admin('PATCH', `/v1/campaigns/${campaign.id}`, { name: 'renamed' })).statusCode).toBe(200);
    const claimed = await claim(campaign.id, 'everything-user');
    expect(claimed.statusCode).toBe(201);
    const couponId = claimed.json().coupon.id as string;
    const redeemed = await t.app.inject({
      method: 'POST',
      url: '/v1/redemptions',
      headers: bearer(await t.userToken('everything-user')),
      payload: { couponId, orderId: 'order-1', orderAmount: 5000 },
    });
    expect(redeemed.statusCode).toBe(201);
    const redemptionId = redeemed.json().id as string;
    const rolledBack = await admin('POST', `/v1/redemptions/${redemptionId}/rollback`);
    expect(rolledBack.statusCode).toBe(200);
    const codesCampaign = await createCampaign(t, { totalQuantity: 10 });
    const codes = await admin('POST', `/v1/campaigns/${codesCampaign.id}/codes`, { count: 3 });
    expect(codes.statusCode).toBe(201);

    const expected: Record<string, (data: Record<string, unknown>) => boolean> = {
      'campaign.created': (d) => d.id === campaign.id,
      'campaign.updated': (d) => d.id === campaign.id && d.name === 'renamed',
      'coupon.issued': (d) => d.id === couponId,
      'campaign.sold_out': (d) => d.campaignId === campaign.id && d.totalQuantity === 1,
      'coupon.redeemed': (d) =>
        d.id === redemptionId && d.couponId === couponId && d.campaignId === campaign.id,
      'campaign.budget_exhausted': (d) => d.campaignId === campaign.id && d.redeemedAmount === 1000,
      'redemption.rolled_back': (d) => d.id === redemptionId && d.status === 'rolled_back',
      'codes.generated': (d) => d.campaignId === codesCampaign.id && d.count === 3,
    };
    const matching = (type: string) =>
      receiver.received.filter(
        (r) => r.path === '/everything' && r.json.type === type && expected[type]!(r.json.data),
      );
    await receiver.waitFor(() => Object.keys(expected).every((type) => matching(type).length >= 1));
    for (const type of Object.keys(expected)) expect(matching(type), type).toHaveLength(1);
  });

  it('says budget_exhausted once, when what is left no longer covers one more discount', async () => {
    await subscribe(['campaign.budget_exhausted']);
    // Fixed 1,000 off, budget 2,500: 2,500 → 1,500 (still one more discount), → 500 (exhausted),
    // then a refused redemption (409 budget-exhausted) writes nothing.
    const campaign = await createCampaign(t, {
      totalQuantity: 3,
      budget: 2500,
      discount: { type: 'fixed', amount: 1000 },
    });
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const user = `budget-${++userSeq}`;
      const couponId = (await claim(campaign.id, user)).json().coupon.id as string;
      const redeemed = await t.app.inject({
        method: 'POST',
        url: '/v1/redemptions',
        headers: bearer(await t.userToken(user)),
        payload: { couponId, orderId: `budget-order-${i}`, orderAmount: 5000 },
      });
      statuses.push(redeemed.statusCode);
      // The event is written in the redemption's own statement, so it is counted at once.
      const [row] = await queryRows<{ n: number }>(
        t.database.db,
        sql`SELECT count(*)::int AS n FROM webhook_events
            WHERE type = 'campaign.budget_exhausted' AND payload->>'campaignId' = ${campaign.id}`,
      );
      expect(row!.n, `after redemption ${i + 1}`).toBe(i === 0 ? 0 : 1);
    }
    expect(statuses).toEqual([201, 201, 409]);
  });

  it('says sold_out when a PATCH lowers the stock to the issued count, and not when the stock is merely set again', async () => {
    await subscribe(['campaign.sold_out']);
    const campaign = await createCampaign(t, { totalQuantity: 5 });
    for (let i = 0; i < 2; i++) expect((await claim(campaign.id)).statusCode).toBe(201);
    const soldOutEvents = async () =>
      (
        await queryRows<{ n: number }>(
          t.database.db,
          sql`SELECT count(*)::int AS n FROM webhook_events
              WHERE type = 'campaign.sold_out' AND payload->>'campaignId' = ${campaign.id}`,
        )
      )[0]!.n;
    expect((await admin('PATCH', `/v1/campaigns/${campaign.id}`, { totalQuantity: 3 })).statusCode).toBe(200);
    expect(await soldOutEvents()).toBe(0);
    expect((await admin('PATCH', `/v1/campaigns/${campaign.id}`, { totalQuantity: 2 })).statusCode).toBe(200);
    expect(await soldOutEvents()).toBe(1);
    expect((await admin('PATCH', `/v1/campaigns/${campaign.id}`, { totalQuantity: 2 })).statusCode).toBe(200);
    expect(await soldOutEvents()).toBe(1);
  });

  it('writes no event for a refused or rolled-back change', async () => {
    await subscribe(['coupon.issued', 'coupon.redeemed', 'campaign.updated', 'campaign.sold_out']);
    const campaign = await createCampaign(t, { totalQuantity: 1, budget: 5000 });
    expect((await claim(campaign.id)).statusCode).toBe(201);
    const user = `validator-${++userSeq}`;
    const other = await createCampaign(t);
    const coupon = (await claim(other.id, user)).json().coupon.id as string;
    const counts = async () =>
      Object.fromEntries(
        await Promise.all(WEBHOOK_EVENT_TYPES.map(async (type) => [type, await eventCount(type)] as const)),
      );
    const before = await counts();
    expect(before['coupon.issued']).toBeGreaterThanOrEqual(2);
    // A claim refused for the stock, a PATCH refused by a CHECK, and a validation (a redemption run for real, then rolled back).
    expect((await claim(campaign.id)).statusCode).toBe(409);
    expect((await admin('PATCH', `/v1/campaigns/${campaign.id}`, { totalQuantity: 0 })).statusCode).toBe(400);
    const validation = await t.app.inject({
      method: 'POST',
      url: '/v1/redemptions/validate',
      headers: bearer(await t.userToken(user)),
      payload: { couponId: coupon, orderAmount: 5000 },
    });
    expect(validation.json()).toMatchObject({ valid: true });
    expect(await counts()).toEqual(before);
  });

  it('signs with the old and the new secret for 24 h after a rotation', async () => {
    const endpoint = await subscribe(['campaign.created']);
    const rotated = await admin('POST', `/v1/webhooks/${endpoint.id}/rotate-secret`);
    expect(rotated.statusCode).toBe(200);
    const { secret, previousSecretExpiresAt } = rotated.json();
    expect(secret).not.toBe(endpoint.secret);
    const graceHours = (Date.parse(previousSecretExpiresAt) - Date.now()) / 3_600_000;
    expect(graceHours).toBeGreaterThan(23.9);
    expect(graceHours).toBeLessThanOrEqual(24);
    const campaign = await createCampaign(t);
    const [request] = await waitForData(
      receiver,
      (r) =>
        r.json.type === 'campaign.created' && r.json.data.id === campaign.id && r.signature.includes(' '),
    );
    const signatures = request!.signature.split(' ');
    expect(signatures).toHaveLength(2);
    const headers = { 'webhook-id': request!.id, 'webhook-timestamp': request!.timestamp };
    for (const key of [secret, endpoint.secret]) {
      expect(
        new Webhook(key).verify(request!.body, { ...headers, 'webhook-signature': request!.signature }),
      ).toBeTruthy();
    }
    // Each signature is the one of its own secret.
    expect(
      new Webhook(secret).sign(request!.id, new Date(Number(request!.timestamp) * 1000), request!.body),
    ).toBe(signatures[0]);
    expect(
      new Webhook(endpoint.secret).sign(
        request!.id,
        new Date(Number(request!.timestamp) * 1000),
        request!.body,
      ),
    ).toBe(signatures[1]);
  });

  it('retries a failed delivery with back-off under the same webhook-id, and reports it', async () => {
    const endpoint = await subscribe(['campaign.created'], '/flaky');
    receiver.respond = (r) => ({ status: r.path === '/flaky' && r.attempt < 3 ? 500 : 204 });
    const campaign = await createCampaign(t, { name: 'flaky' });
    const received = await receiver.waitFor((all) => all.some((r) => r.path === '/flaky' && r.attempt === 3));
    receiver.respond = () => ({ status: 204 });
    const forFlaky = received.filter((r) => r.path === '/flaky');
    expect(forFlaky.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(new Set(forFlaky.map((r) => r.id)).size).toBe(1);
    expect(forFlaky.every((r) => r.json.data.id === campaign.id)).toBe(true);
    // Back-off: the second retry waits the second step of the schedule (60 × the first).
    expect(forFlaky[2]!.receivedAt - forFlaky[1]!.receivedAt).toBeGreaterThanOrEqual(RETRY_BASE_MS * 60 - 5);
    const deliveries = await waitForDeliveries(t, endpoint.id, (items) =>
      items.some((d) => d.status === 'delivered'),
    );
    expect(deliveries[0]).toMatchObject({
      eventId: forFlaky[0]!.id,
      eventType: 'campaign.created',
      status: 'delivered',
      attempts: 3,
      lastStatusCode: 204,
      lastAttemptAt: expect.any(String),
    });
  });

  it('pauses the pending deliveries of a disabled endpoint and delivers them once it is enabled again', async () => {
    const endpoint = await subscribe(['campaign.created'], '/paused');
    expect((await admin('PATCH', `/v1/webhooks/${endpoint.id}`, { enabled: false })).statusCode).toBe(200);
    // An event the endpoint subscribed to before it was disabled, still pending: written by hand,
    // as a claim racing the PATCH would.
    await queryRows(
      t.database.db,
      sql`WITH e AS (INSERT INTO webhook_events (type, payload) VALUES ('campaign.created', '{"name":"waiting"}') RETURNING id)
          INSERT INTO webhook_deliveries (event_id, endpoint_id, status) SELECT e.id, ${endpoint.id}::uuid, 'pending' FROM e`,
    );
    expect((await admin('PATCH', `/v1/webhooks/${endpoint.id}`, { enabled: true })).statusCode).toBe(200);
    await receiver.waitFor((all) => all.some((r) => r.path === '/paused' && r.json.data.name === 'waiting'));
    // Disabled again with a delivery pending: it is paused (out of the dispatchers' way), not sent.
    receiver.respond = (r) => ({ status: r.path === '/paused' ? 503 : 204 });
    await createCampaign(t, { name: 'held back' });
    await waitForDeliveries(t, endpoint.id, (items) =>
      items.some((d) => d.attempts >= 1 && d.status === 'pending'),
    );
    expect((await admin('PATCH', `/v1/webhooks/${endpoint.id}`, { enabled: false })).statusCode).toBe(200);
    receiver.respond = () => ({ status: 204 });
    const paused = (await admin('GET', `/v1/webhooks/${endpoint.id}/deliveries?status=paused`)).json().items;
    expect(paused.length).toBeGreaterThanOrEqual(1);
  });

  it('deletes an endpoint with its deliveries while claims that write to it run, and no claim fails', async () => {
    const endpoint = await subscribe(['coupon.issued'], '/deleted');
    const campaign = await createCampaign(t, { totalQuantity: 60 });
    const claims = Array.from({ length: 60 }, () => claim(campaign.id));
    const deleted = await admin('DELETE', `/v1/webhooks/${endpoint.id}`);
    const statuses = (await Promise.all(claims)).map((response) => response.statusCode);
    expect(deleted.statusCode).toBe(204);
    expect(statuses).toEqual(Array(60).fill(201));
    // Deliveries a racing claim added after the delete belong to no endpoint: never leased, purged.
    await queryRows(
      t.database.db,
      sql`UPDATE webhook_deliveries SET created_at = now() - interval '2 minutes' WHERE endpoint_id = ${endpoint.id}`,
    );
    await purgeSettledEvents(t.database.db);
    const [left] = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = ${endpoint.id}`,
    );
    expect(left!.n).toBe(0);
  });

  it('disables an endpoint that answers 410 Gone, and writes it no more deliveries', async () => {
    const endpoint = await subscribe(['campaign.created'], '/gone');
    receiver.respond = (r) => ({ status: r.path === '/gone' ? 410 : 204 });
    await createCampaign(t, { name: 'gone' });
    const deliveries = await waitForDeliveries(t, endpoint.id, (items) =>
      items.some((d) => d.status === 'failed'),
    );
    receiver.respond = () => ({ status: 204 });
    expect(deliveries[0]).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 410 });
    const read = (await admin('GET', `/v1/webhooks/${endpoint.id}`)).json();
    expect(read).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('410') });
    await createCampaign(t, { name: 'after gone' });
    const again = (await admin('GET', `/v1/webhooks/${endpoint.id}/deliveries`)).json().items;
    expect(again).toHaveLength(1);
  });

  it('sends a delivery again on retry, with the same webhook-id', async () => {
    const endpoint = await subscribe(['campaign.created'], '/again');
    const campaign = await createCampaign(t, { name: 'again' });
    const [delivery] = await waitForDeliveries(t, endpoint.id, (items) =>
      items.some((d) => d.status === 'delivered'),
    );
    const first = receiver.received.filter((r) => r.id === delivery!.eventId).length;
    const retried = await admin('POST', `/v1/webhooks/${endpoint.id}/deliveries/${delivery!.id}/retry`);
    expect(retried.statusCode).toBe(202);
    const again = await receiver.waitFor(
      (all) => all.filter((r) => r.id === delivery!.eventId).length > first,
    );
    expect(again.filter((r) => r.id === delivery!.eventId).every((r) => r.json.data.id === campaign.id)).toBe(
      true,
    );
    const unknown = await admin(
      'POST',
      `/v1/webhooks/${endpoint.id}/deliveries/00000000-0000-4000-8000-000000000000/retry`,
    );
    expect(problemOf(unknown)).toMatchObject({ status: 404, body: { code: 'not-found' } });
  });

  it('answers bad input on every route with problem+json naming the field, writing nothing', async () => {
    const endpoint = await subscribe(['coupon.issued']);
    const cases: [
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      url: string,
      payload: object | undefined,
      field: string,
    ][] = [
      ['POST', '/v1/webhooks', { url: 'not a url', events: ['coupon.issued'] }, 'body/url'],
      ['POST', '/v1/webhooks', { url: 'ftp://example.com/x', events: ['coupon.issued'] }, 'body/url'],
      ['POST', '/v1/webhooks', { url: receiver.url, events: [] }, 'body/events'],
      ['POST', '/v1/webhooks', { url: receiver.url, events: ['coupon.nope'] }, 'body/events/0'],
      ['POST', '/v1/webhooks', { url: receiver.url, events: ['coupon.issued'], extra: 1 }, 'body'],
      ['POST', '/v1/webhooks', { events: ['coupon.issued'] }, 'body/url'],
      ['GET', '/v1/webhooks?limit=0', undefined, 'querystring/limit'],
      ['GET', '/v1/webhooks?cursor=forged', undefined, 'querystring/cursor'],
      ['GET', '/v1/webhooks/not-a-uuid', undefined, 'params/id'],
      ['PATCH', `/v1/webhooks/${endpoint.id}`, {}, 'body'],
      ['PATCH', `/v1/webhooks/${endpoint.id}`, { url: 'gopher://x' }, 'body/url'],
      ['PATCH', `/v1/webhooks/${endpoint.id}`, { enabled: 'yes' }, 'body/enabled'],
      ['DELETE', '/v1/webhooks/not-a-uuid', undefined, 'params/id'],
      ['POST', '/v1/webhooks/not-a-uuid/rotate-secret', undefined, 'params/id'],
      ['GET', `/v1/webhooks/${endpoint.id}/deliveries?status=lost`, undefined, 'querystring/status'],
      ['POST', `/v1/webhooks/${endpoint.id}/deliveries/nope/retry`, undefined, 'params/deliveryId'],
    ];
    const before = await queryRows(
      t.database.db,
      sql`SELECT id, url, events, secret FROM webhook_endpoints ORDER BY id`,
    );
    for (const [method, url, payload, field] of cases) {
      const problem = problemOf(await admin(method, url, payload));
      expect(problem.status, `${method} ${url}`).toBe(400);
      expect(problem.contentType).toMatch(/^application\/problem\+json/);
      expect(problem.body.code).toBe('validation-failed');
      expect(
        problem.body.errors?.map((e) => e.field),
        `${method} ${url}`,
      ).toContain(field);
    }
    expect(
      await queryRows(t.database.db, sql`SELECT id, url, events, secret FROM webhook_endpoints ORDER BY id`),
    ).toEqual(before);
    // Not an admin: 403, and no token: 401.
    const asUser = await t.app.inject({
      method: 'GET',
      url: '/v1/webhooks',
      headers: bearer(await t.userToken('u')),
    });
    expect(problemOf(asUser)).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect((await t.app.inject({ method: 'GET', url: '/v1/webhooks' })).statusCode).toBe(401);
  });
});

describe('webhook endpoint URLs (SSRF guard)', () => {
  const t = useTestApp('pglite');

  it('refuses loopback, private, link-local and unspecified addresses, naming body/url', async () => {
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://10.1.2.3/hook',
      'http://192.168.0.10/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hook',
      'http://[fd00::1]/hook',
      'http://0.0.0.0/hook',
    ]) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/v1/webhooks',
        headers: bearer(t.adminToken),
        payload: { url, events: ['coupon.issued'] },
      });
      const problem = problemOf(response);
      expect(problem.status, url).toBe(400);
      expect(problem.contentType).toMatch(/^application\/problem\+json/);
      expect(problem.body.errors?.[0]?.field, url).toBe('body/url');
    }
    const rows = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM webhook_endpoints`,
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('refuses at delivery too: a dispatcher without the setting does not call a private address', async () => {
    const receiver = await new WebhookReceiver().start();
    // Stored directly, as if the names had resolved to public addresses when they were created:
    // an IP literal (checked before connecting) and a name (checked by the agent's DNS lookup).
    const endpoints = await queryRows<{ id: string }>(
      t.database.db,
      sql`INSERT INTO webhook_endpoints (url, events, secret)
          VALUES (${`${receiver.url}/ip`}, ARRAY['campaign.created'], 'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0'),
                 (${`${receiver.url.replace('127.0.0.1', 'localhost')}/name`}, ARRAY['campaign.created'],
                  'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0')
          RETURNING id`,
    );
    const dispatcher = new WebhookDispatcher({
      db: t.database.db,
      concurrency: 2,
      pollMs: 20,
      retryBaseMs: 60_000,
      timeoutMs: 2000,
      allowPrivateUrls: false,
      logger: silent,
    });
    dispatcher.start();
    try {
      await createCampaign(t);
      for (const endpoint of endpoints) {
        const deliveries = await waitForDeliveries(t, endpoint.id, (items) =>
          items.some((d) => d.attempts > 0 && d.lastError !== null),
        );
        expect(deliveries[0]!.lastError).toMatch(
          /refused webhook address: (127\.0\.0\.1|::1) is a loopback address/,
        );
        expect(deliveries[0]!.status).toBe('pending');
      }
      expect(receiver.received).toHaveLength(0);
    } finally {
      await dispatcher.stop();
      await receiver.close();
    }
  });
});

describe('webhook event retention', () => {
  const t = useTestApp('pglite');

  it('purges settled events past retention with their deliveries, and keeps pending or recent ones', async () => {
    const [endpoint] = await queryRows<{ id: string }>(
      t.database.db,
      sql`INSERT INTO webhook_endpoints (url, events, secret)
          VALUES ('https://example.com/hook', ARRAY['coupon.issued'], 'whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0') RETURNING id`,
    );
    const event = async (id: string, daysAgo: number, status: string) => {
      await queryRows(
        t.database.db,
        sql`INSERT INTO webhook_events (id, type, payload, created_at)
            VALUES (${id}, 'coupon.issued', '{}'::jsonb, now() - make_interval(days => ${daysAgo}))`,
      );
      await queryRows(
        t.database.db,
        sql`INSERT INTO webhook_deliveries (event_id, endpoint_id, status) VALUES (${id}, ${endpoint!.id}, ${status})`,
      );
    };
    await event('msg_old_delivered', 31, 'delivered');
    await event('msg_old_failed', 40, 'failed');
    await event('msg_old_pending', 31, 'pending');
    await event('msg_recent_delivered', 29, 'delivered');
    expect(await purgeSettledEvents(t.database.db)).toBe(2);
    const left = await queryRows<{ id: string; deliveries: number }>(
      t.database.db,
      sql`SELECT e.id, (SELECT count(*)::int FROM webhook_deliveries d WHERE d.event_id = e.id) AS deliveries
          FROM webhook_events e ORDER BY e.id`,
    );
    expect(left).toEqual([
      { id: 'msg_old_pending', deliveries: 1 },
      { id: 'msg_recent_delivered', deliveries: 1 },
    ]);
    const orphans = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM webhook_deliveries`,
    );
    expect(orphans[0]!.n).toBe(2);
  });
});

/** The WEBHOOK_* defaults, to override some. */
function defaults() {
  return {
    allowPrivateUrls: false,
    retryBaseMs: 5000,
    timeoutMs: 15_000,
    concurrency: 16,
    pollMs: 500,
    dispatch: true,
  };
}

/** Waits for the requests whose parsed body matches `match` (at least one). */
function waitForData(receiver: WebhookReceiver, match: (r: WebhookReceiver['received'][number]) => boolean) {
  return receiver.waitFor((all) => all.some(match)).then((all) => all.filter(match));
}

interface DeliveryJson {
  id: string;
  eventId: string;
  status: string;
  attempts: number;
  lastError: string | null;
}

/**
 * The endpoint's deliveries once `condition` holds on them, read through the API. The state is
 * in the database, not in an event this process can await, so it is read again after each
 * request the dispatcher makes (up to 20 s).
 */
async function waitForDeliveries(
  t: TestApp,
  endpointId: string,
  condition: (items: DeliveryJson[]) => boolean,
): Promise<DeliveryJson[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await t.app.inject({
      method: 'GET',
      url: `/v1/webhooks/${endpointId}/deliveries`,
      headers: bearer(t.adminToken),
    });
    const items = response.json().items as DeliveryJson[];
    if (condition(items)) return items;
    if (Date.now() > deadline)
      throw new Error(`deliveries never met the condition: ${JSON.stringify(items)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
