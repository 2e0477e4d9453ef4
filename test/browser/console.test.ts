/**
 * The operator console in a real browser (Chromium via playwright-core) against a real server, on
 * the embedded database and on PostgreSQL: sign in, create a campaign, watch the live view reach
 * the count the API reports after a burst of claims, suspend it from the page and see a claim
 * refused, roll a redemption back from the Redemptions screen, list a dead letter (whose retry
 * this server, without the redis-gate, refuses in words), a non-admin refused. axe-core finds no
 * serious or critical violation on any screen.
 * The embedded run saves the screenshots of the README (docs/img/).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.js';
import { setupToken } from '../../src/auth/setup.js';
import { upsertUser } from '../../src/auth/users.js';
import { insertDeadLetter } from '../../src/gate/persist.js';
import { bearer, TEST_JWT_SECRET, useTestApp } from '../helpers/app.js';
import { launchChromium, newConsolePage, seriousViolations, signInToConsole } from '../helpers/browser.js';
import { ensureConsoleBuilt } from '../helpers/console.js';
import { ENGINES } from '../support/database.js';

const IMG = fileURLToPath(new URL('../../docs/img/', import.meta.url));
const PASSWORD = 'console-password';

beforeAll(ensureConsoleBuilt);

describe.each(ENGINES)('operator console (%s)', (engine) => {
  // No fixture admin: the first test creates the admin through the setup page.
  const t = useTestApp(engine, { fixturePrincipals: false });
  let base = '';
  let browser: Browser;
  let page: Page;
  /** Screenshots for the README come from one engine only. */
  const screenshot = async (name: string) => {
    if (engine === 'pglite') await page.screenshot({ path: `${IMG}${name}.png`, fullPage: true });
  };
  const expectAccessible = async () => expect(await seriousViolations(page)).toEqual([]);

  beforeAll(async () => {
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    // The admin is created through the console's setup page (first test); the shopper here.
    const passwordHash = await hashPassword(PASSWORD);
    await upsertUser(t.database.db, { email: 'shopper@example.com', passwordHash, role: 'user' });
    browser = await launchChromium();
    page = await newConsolePage(browser);
  });
  afterAll(async () => {
    await browser?.close();
  });

  const signIn = (target: Page, email: string) => signInToConsole(target, base, email, PASSWORD);
  /** The admin's API token (the setup page creates the admin), signed in once. */
  let apiToken: Promise<string> | undefined;
  const adminApiToken = () => {
    apiToken ??= fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@example.com', password: PASSWORD }),
    })
      .then((response) => response.json())
      .then((body) => (body as { accessToken: string }).accessToken);
    return apiToken;
  };
  /** A claim for the shop user `userId`, sent by the admin as a shop backend would. */
  const claim = async (campaignId: string, userId: string) =>
    fetch(`${base}/v1/campaigns/${campaignId}/claims`, {
      method: 'POST',
      headers: { ...bearer(await adminApiToken()), 'content-type': 'application/json' },
      body: JSON.stringify({ userId }),
    });
  let campaignUrl = '';

  it('creates the first admin from the setup link, signed in at once', async () => {
    await page.goto(`${base}/console/setup?token=${setupToken(TEST_JWT_SECRET)}`);
    await page.getByRole('button', { name: 'Create admin' }).waitFor();
    await expectAccessible();
    await screenshot('console-setup');
    await page.getByRole('textbox', { name: 'Admin email' }).fill('admin@example.com');
    await page.getByRole('textbox', { name: 'Admin password (at least 8 characters)' }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create admin' }).click();
    await page.getByRole('heading', { name: 'Campaigns' }).waitFor();
    const setup = (await (await fetch(`${base}/v1/setup`)).json()) as { needed: boolean };
    expect(setup.needed).toBe(false);
    await page.getByRole('button', { name: 'Sign out' }).click();
  });

  it('signs an admin in to the campaign list', async () => {
    await page.goto(`${base}/console/`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await expectAccessible();
    await screenshot('console-sign-in');
    await signIn(page, 'admin@example.com');
    await page.getByRole('heading', { name: 'Campaigns' }).waitFor();
    await expectAccessible();
    // The session survives a reload (sessionStorage) and nothing is kept in localStorage.
    await page.reload();
    await page.getByRole('heading', { name: 'Campaigns' }).waitFor();
    expect(await page.evaluate('localStorage.length')).toBe(0);
    // A reload that finds the access token due renews it at once, through the rotating refresh token.
    const stored = async () =>
      JSON.parse((await page.evaluate(`sessionStorage.getItem('stampede.session')`)) as string) as {
        token: string;
        refreshToken: string;
        refreshAt: number;
      };
    const before = await stored();
    await page.evaluate(
      `sessionStorage.setItem('stampede.session', JSON.stringify({ ...${JSON.stringify(before)}, refreshAt: 0 }))`,
    );
    await page.reload();
    await page.waitForFunction(
      `JSON.parse(sessionStorage.getItem('stampede.session') ?? '{}').refreshToken !== ${JSON.stringify(before.refreshToken)}`,
    );
    const after = await stored();
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(after.refreshAt).toBeGreaterThan(Date.now());
    await page.getByRole('heading', { name: 'Campaigns' }).waitFor();
  });

  it('keeps a duplicated tab signed in when both tabs renew the same refresh token at once', async () => {
    // A duplicated tab starts with a copy of sessionStorage: two tabs, one refresh token, usable once.
    const readSession = (tab: Page) =>
      tab.evaluate(`JSON.parse(sessionStorage.getItem('stampede.session') ?? 'null')`) as Promise<{
        refreshToken: string;
      } | null>;
    const original = (await readSession(page))!;
    const due = JSON.stringify({ ...original, refreshAt: 0 });
    const twin = await page.context().newPage();
    try {
      await twin.goto(`${base}/console/`);
      for (const tab of [page, twin]) {
        await tab.evaluate(`sessionStorage.setItem('stampede.session', ${JSON.stringify(due)})`);
      }
      await Promise.all([page.reload(), twin.reload()]);
      for (const tab of [page, twin]) {
        await tab.waitForFunction(
          `(JSON.parse(sessionStorage.getItem('stampede.session') ?? '{}').refreshToken ?? ${JSON.stringify(original.refreshToken)}) !== ${JSON.stringify(original.refreshToken)}`,
        );
        await tab.getByRole('heading', { name: 'Campaigns' }).waitFor();
      }
      // One renewal, adopted by the other tab: the same new refresh token in both, still signed in.
      const [mine, theirs] = await Promise.all([readSession(page), readSession(twin)]);
      expect(mine?.refreshToken).toBeDefined();
      expect(theirs?.refreshToken).toBe(mine?.refreshToken);
    } finally {
      await twin.close();
    }
  });

  it('creates a campaign, showing the API validation error beside its field', async () => {
    await page.getByRole('link', { name: 'New campaign' }).click();
    await page.getByRole('heading', { name: 'New campaign' }).waitFor();
    await expectAccessible();
    await page.getByLabel('Name').fill(`Flash sale ${engine}`);
    await page.getByLabel('Stock').fill('0');
    await page.getByRole('button', { name: 'Create campaign' }).click();
    // The API refuses stock 0 (problem+json naming body/totalQuantity): the message sits on the field.
    await page.getByText('must be >= 1').waitFor();
    expect(await page.getByLabel('Stock').getAttribute('aria-invalid')).toBe('true');
    await screenshot('console-campaign-form');

    await page.getByLabel('Stock').fill('5');
    await page.getByRole('combobox', { name: 'Status' }).click();
    await page.getByRole('option', { name: 'Active' }).click();
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.getByRole('heading', { name: `Flash sale ${engine}` }).waitFor();
    campaignUrl = page.url();
    expect(campaignUrl).toMatch(/\/console\/campaigns\/[0-9a-f-]{36}$/);
    await page.getByRole('button', { name: 'Suspend' }).waitFor();
    await expectAccessible();
  });

  it('shows in the live view the claims the API reports after a burst', async () => {
    const campaignId = campaignUrl.split('/').pop()!;
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => claim(campaignId, `burst-${i}`)));
    expect(statuses.map((response) => response.status).sort()).toEqual([
      201, 201, 201, 201, 201, 409, 409, 409,
    ]);
    const api = (await (await fetch(`${base}/v1/campaigns/${campaignId}`)).json()) as { issuedCount: number };
    expect(api.issuedCount).toBe(5);

    const live = page.getByRole('region', { name: 'Live figures' });
    await live
      .getByRole('group', { name: 'Issued', exact: true })
      .getByText(String(api.issuedCount), { exact: true })
      .waitFor();
    await live.getByRole('group', { name: 'Claims issued' }).getByText('5', { exact: true }).waitFor();
    await live.getByRole('group', { name: 'Refused: sold out' }).getByText('3', { exact: true }).waitFor();
    expect(await live.getByRole('group', { name: 'Remaining', exact: true }).textContent()).toContain('0');
    await expectAccessible();
    await screenshot('console-campaign-live');
  });

  it('suspends the campaign from the page, after which a claim is refused', async () => {
    const campaignId = campaignUrl.split('/').pop()!;
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    const refused = await claim(campaignId, 'after-suspend');
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { code: string }).code).toBe('campaign-not-active');
  });

  it('asks before deleting, and restores', async () => {
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete?' });
    await dialog.waitFor();
    await expectAccessible();
    await dialog.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
  });

  it('raises the stock from the edit form, then generates codes and downloads them as CSV', async () => {
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit campaign' }).waitFor();
    await page.getByLabel('Stock').fill('20');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('group', { name: 'Stock' }).getByText('20', { exact: true }).waitFor();

    await page.getByRole('tab', { name: 'Codes' }).click();
    await page.getByLabel('How many').fill('7');
    await page.getByLabel('Prefix (optional)').fill('BF-');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByText('Generated 7 codes.').waitFor();
    await expectAccessible();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    const csv = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\n');
    const codes = csv.filter((line) => line.includes('BF-'));
    expect(codes).toHaveLength(7);
    await screenshot('console-codes');
  });

  it('finds a coupon by its user on the Coupons tab', async () => {
    await page.getByRole('tab', { name: 'Coupons' }).click();
    const table = page.getByRole('table', { name: 'Coupons' });
    // A claimant that won a coupon in the burst (which five of the eight won is up to the race).
    const api = await fetch(
      `${base}/v1/coupons?limit=50&campaignId=${campaignUrl.split('/').pop()}&status=issued`,
      {
        headers: bearer(await adminApiToken()),
      },
    );
    const winner = ((await api.json()) as { items: { userId: string | null }[] }).items.find((c) => c.userId);
    expect(winner?.userId).toMatch(/^burst-\d$/);
    await page.getByRole('textbox', { name: 'User' }).fill(winner!.userId!);
    await page.getByRole('button', { name: 'Search' }).click();
    await table.getByRole('cell', { name: winner!.userId!, exact: true }).waitFor();
    expect(await table.getByRole('row').count()).toBe(2); // the header and the one coupon
    await expectAccessible();
    await page.getByRole('tab', { name: 'Live' }).click();
  });

  it('lists the campaign with its progress, filtered by status and found by part of its name on the server', async () => {
    await page.getByRole('link', { name: 'Campaigns' }).click();
    await page.getByRole('columnheader', { name: 'Redemptions' }).waitFor();
    // The search is the API's `q`: the page asks the server, it does not filter what it loaded.
    const searched = page.waitForResponse(
      (response) => response.url().includes('/v1/campaigns?') && response.url().includes('q=SALE'),
    );
    await page.getByRole('searchbox', { name: 'Search by name' }).fill(`SALE ${engine}`);
    expect((await searched).status()).toBe(200);
    const campaign = (await (await fetch(`${base}/v1/campaigns/${campaignUrl.split('/').pop()}`)).json()) as {
      issuedCount: number;
      totalQuantity: number;
    };
    const progress = `Flash sale ${engine}: issued ${campaign.issuedCount} of ${campaign.totalQuantity}`;
    await page.getByRole('progressbar', { name: progress }).waitFor();
    // The README's picture: the list with the campaign found, before the filter empties it.
    await screenshot('console-campaigns');
    await page.getByRole('combobox', { name: 'Status' }).click();
    await page.getByRole('option', { name: 'active' }).click();
    await page.getByText('No campaigns match.').waitFor();
  });

  /** An active campaign (through the API) with one coupon of `userId`, redeemed for `orderId`. */
  async function redeemedCoupon(userId: string, orderId: string) {
    const campaign = await t.app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: bearer(await adminApiToken()),
      payload: {
        name: `Rollback ${engine}`,
        totalQuantity: 3,
        perUserLimit: 1,
        status: 'active',
        discount: { type: 'fixed', amount: 700 },
      },
    });
    const campaignId = campaign.json().id as string;
    const claimed = await claim(campaignId, userId);
    const couponId = ((await claimed.json()) as { coupon: { id: string } }).coupon.id;
    const redeemed = await fetch(`${base}/v1/redemptions`, {
      method: 'POST',
      headers: { ...bearer(await adminApiToken()), 'content-type': 'application/json' },
      body: JSON.stringify({ couponId, orderId, orderAmount: 5000, userId }),
    });
    expect(redeemed.status).toBe(201);
    return { campaignId, couponId };
  }

  it('looks a redemption up by order id and rolls it back, the coupon issued again', async () => {
    const orderId = `order-${engine}-1`;
    const { campaignId, couponId } = await redeemedCoupon('returning-shopper', orderId);
    await page.getByRole('link', { name: 'Redemptions' }).click();
    await page.getByRole('heading', { name: 'Redemptions' }).waitFor();
    // Naming nothing: the API's 400 names the three parameters, shown on the three inputs.
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByText('give couponId, code or orderId').first().waitFor();
    expect(await page.getByRole('textbox', { name: 'Order id' }).getAttribute('aria-invalid')).toBe('true');
    await expectAccessible();

    await page.getByRole('textbox', { name: 'Order id' }).fill(orderId);
    await page.getByRole('button', { name: 'Look up' }).click();
    const table = page.getByRole('table', { name: 'Redemptions' });
    await table.getByRole('cell', { name: couponId, exact: true }).waitFor();
    expect(await table.getByRole('row').count()).toBe(2); // the header and the one redemption
    await table.getByRole('link', { name: `Rollback ${engine}` }).waitFor();
    await expectAccessible();
    await screenshot('console-redemptions');

    await page.getByRole('button', { name: `Roll back the redemption of order ${orderId}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll back?' });
    await dialog.waitFor();
    await expectAccessible();
    await dialog.getByRole('button', { name: 'Yes, roll back' }).click();
    await table.getByText('rolled back').waitFor();
    const coupons = await fetch(`${base}/v1/coupons?campaignId=${campaignId}`, {
      headers: bearer(await adminApiToken()),
    });
    const [coupon] = ((await coupons.json()) as { items: { id: string; status: string }[] }).items;
    expect(coupon).toMatchObject({ id: couponId, status: 'issued' });
    const campaign = await fetch(`${base}/v1/campaigns/${campaignId}`);
    expect(await campaign.json()).toMatchObject({ redeemedCount: 0, redeemedAmount: 0 });
    // The campaign's page counts it no more either.
    await table.getByRole('link', { name: `Rollback ${engine}` }).click();
    await page
      .getByRole('group', { name: 'Redemptions', exact: true })
      .getByText('0', { exact: true })
      .waitFor();
    await page.getByRole('group', { name: 'Discount granted' }).getByText('0', { exact: true }).waitFor();
  });

  it('lists a dead letter and says clearly that this server cannot retry it without the redis-gate', async () => {
    const campaignId = campaignUrl.split('/').pop()!;
    const claimId = randomUUID();
    await insertDeadLetter(
      t.database.db,
      campaignId,
      {
        entryId: '1-0',
        fields: ['c', claimId],
        claim: { claimId, userId: 'late-shopper', userSlot: 1, admittedMs: Date.now(), campaignId },
        deliveries: 5,
      },
      'persist-failed',
      'connection terminated unexpectedly',
      0,
    );
    await page.getByRole('link', { name: 'Dead letters' }).click();
    await page.getByRole('heading', { name: 'Dead letters' }).waitFor();
    const table = page.getByRole('table', { name: 'Dead letters' });
    await table.getByRole('cell', { name: claimId, exact: true }).waitFor();
    await table.getByText('persist-failed: connection terminated unexpectedly').waitFor();
    await table.getByRole('cell', { name: `Flash sale ${engine}` }).waitFor();
    await expectAccessible();
    await screenshot('console-dead-letters');

    await page.getByRole('button', { name: `Retry claim ${claimId}` }).click();
    await page.getByRole('dialog', { name: 'Retry?' }).getByRole('button', { name: 'Yes, retry' }).click();
    await page.getByRole('alert').getByText('This server runs no redis-gate').waitFor();
    await expectAccessible();
    // The dead letter stays.
    await table.getByRole('cell', { name: claimId, exact: true }).waitFor();
  });

  it('creates a service account and disables it on the Users screen', async () => {
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.getByRole('textbox', { name: 'New account email' }).fill(`shop-${engine}@example.com`);
    await page.getByRole('textbox', { name: 'Its password' }).fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('must NOT have fewer than 8 characters').waitFor();
    await page.getByRole('textbox', { name: 'Its password' }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    const users = page.getByRole('table', { name: 'Users' });
    await users.getByRole('cell', { name: `shop-${engine}@example.com`, exact: true }).waitFor();
    await expectAccessible();
    await page.getByRole('button', { name: `Disable shop-${engine}@example.com` }).click();
    await page.getByRole('button', { name: `Enable shop-${engine}@example.com` }).waitFor();
    const login = await fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `shop-${engine}@example.com`, password: PASSWORD }),
    });
    expect(login.status).toBe(403);
    await screenshot('console-users');
  });

  it('creates a webhook endpoint on the Webhooks screen, shows its secret once and its deliveries', async () => {
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    // A loopback URL is refused (SSRF guard), the error beside the field.
    await page.getByRole('textbox', { name: 'Endpoint URL' }).fill('http://127.0.0.1:9/hook');
    await page.getByRole('checkbox', { name: 'campaign.created' }).check();
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.getByText('must not point to a private or loopback address').waitFor();
    // A public address (no dispatcher runs in this test app: nothing is sent to it).
    const url = `https://1.1.1.1/stampede-${engine}`;
    await page.getByRole('textbox', { name: 'Endpoint URL' }).fill(url);
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    const secret = page.getByRole('status').filter({ hasText: `Signing secret of ${url}` });
    expect(await secret.getByLabel('Signing secret').textContent()).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const endpoints = page.getByRole('table', { name: 'Webhook endpoints' });
    await endpoints.getByRole('cell', { name: url, exact: true }).waitFor();
    // A campaign created now is an event for it: one pending delivery.
    const created = await fetch(`${base}/v1/campaigns`, {
      method: 'POST',
      headers: { ...bearer(await adminApiToken()), 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'Webhook sale',
        totalQuantity: 10,
        status: 'active',
        discount: { type: 'fixed', amount: 100 },
      }),
    });
    expect(created.status).toBe(201);
    await page.getByRole('button', { name: `Deliveries of ${url}` }).click();
    const deliveries = page.getByRole('table', { name: `Deliveries of ${url}` });
    await deliveries.getByRole('cell', { name: 'campaign.created', exact: true }).waitFor();
    expect(await deliveries.getByRole('cell', { name: 'pending', exact: true }).count()).toBe(1);
    await expectAccessible();
    await screenshot('console-webhooks');
    await page.getByRole('button', { name: `Disable ${url}` }).click();
    await page.getByRole('button', { name: `Enable ${url}` }).waitFor();
  });

  it('shows a non-admin the "not allowed" page', async () => {
    const context = await browser.newContext({ reducedMotion: 'reduce' });
    const other = await context.newPage();
    try {
      await signIn(other, 'shopper@example.com');
      await other.getByRole('heading', { name: 'Not allowed' }).waitFor({ timeout: 20_000 });
      expect(await other.getByRole('button', { name: 'New campaign' }).count()).toBe(0);
      expect(await seriousViolations(other)).toEqual([]);
      if (engine === 'pglite') await other.screenshot({ path: `${IMG}console-not-allowed.png` });
    } finally {
      await context.close();
    }
  });
});
