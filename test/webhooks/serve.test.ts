/**
 * `stampede serve` on the embedded database runs a webhook dispatcher: an endpoint created through
 * the API receives the `coupon.issued` event of a claim, signed (reference `Webhook.verify`), and
 * the server still stops cleanly on SIGTERM with its dispatcher.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAMPEDE_MAIN, servingUrl } from '../helpers/cli.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const EMAIL = 'webhooks-admin@example.com';
const PASSWORD = 'webhooks-password';

describe('stampede serve (embedded) with a webhook endpoint', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'stampede-webhooks-'));
  const receiver = new WebhookReceiver();
  let child: ChildProcess;
  let url = '';

  beforeAll(async () => {
    await receiver.start();
    child = spawn(process.execPath, ['--import', 'tsx', STAMPEDE_MAIN, 'serve'], {
      env: {
        PATH: process.env.PATH,
        DATA_DIR: dataDir,
        PORT: '0',
        LOG_LEVEL: 'info',
        STAMPEDE_ADMIN_EMAIL: EMAIL,
        STAMPEDE_ADMIN_PASSWORD: PASSWORD,
        WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
        WEBHOOK_POLL_MS: '20',
      },
    });
    url = await servingUrl(child);
  }, 90_000);
  afterAll(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = async (token: string | undefined, method: string, path: string, body?: object) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  it('delivers a claim’s coupon.issued signed, then stops cleanly on SIGTERM', async () => {
    // The first admin is created from STAMPEDE_ADMIN_EMAIL once the server listens.
    let token: string | undefined;
    for (let i = 0; i < 100 && !token; i++) {
      const login = await call(undefined, 'POST', '/v1/auth/login', { email: EMAIL, password: PASSWORD });
      if (login.status === 200) token = login.json.accessToken as string;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(token).toBeDefined();
    const endpoint = await call(token, 'POST', '/v1/webhooks', {
      url: `${receiver.url}/serve`,
      events: ['coupon.issued'],
    });
    expect(endpoint.status).toBe(201);
    const campaign = await call(token, 'POST', '/v1/campaigns', {
      name: 'served',
      totalQuantity: 5,
      status: 'active',
      discount: { type: 'fixed', amount: 100 },
    });
    expect(campaign.status).toBe(201);
    const claim = await call(token, 'POST', `/v1/campaigns/${campaign.json.id}/claims`, { userId: 'buyer' });
    expect(claim.status).toBe(201);
    const couponId = (claim.json.coupon as { id: string }).id;
    const [request] = await receiver.waitFor((all) => all.some((r) => r.json.data.id === couponId));
    const verified = new Webhook(endpoint.json.secret as string).verify(request!.body, {
      'webhook-id': request!.id,
      'webhook-timestamp': request!.timestamp,
      'webhook-signature': request!.signature,
    });
    expect(verified).toMatchObject({ type: 'coupon.issued', data: { id: couponId, userId: 'buyer' } });

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
