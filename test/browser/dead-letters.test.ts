/**
 * The Dead letters screen in Chromium against a server running the redis-gate on PostgreSQL and
 * the test Redis: a claim the worker dead-lettered (slot taken, test/helpers/gate.ts) is listed
 * with its reason, retried from the page after a confirmation, and the API then reports the claim
 * issued. axe-core finds no serious or critical violation.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.js';
import { upsertUser } from '../../src/auth/users.js';
import { waitForDrain } from '../../src/gate/drain.js';
import { bearer, createCampaign } from '../helpers/app.js';
import { launchChromium, newConsolePage, seriousViolations, signInToConsole } from '../helpers/browser.js';
import { ensureConsoleBuilt } from '../helpers/console.js';
import { createGateApp, type GateApp, slotTakenDeadLetter } from '../helpers/gate.js';

const PASSWORD = 'console-password';

beforeAll(ensureConsoleBuilt);

describe('Dead letters screen with the redis-gate (postgres + Redis)', () => {
  let gate: GateApp;
  let base = '';
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    gate = await createGateApp();
    base = await gate.t.app.listen({ port: 0, host: '127.0.0.1' });
    const passwordHash = await hashPassword(PASSWORD);
    await upsertUser(gate.t.database.db, { email: 'gate-admin@example.com', passwordHash, role: 'admin' });
    browser = await launchChromium();
    page = await newConsolePage(browser);
  });
  afterAll(async () => {
    await browser?.close();
    await gate?.close();
  });

  it('retries a dead-lettered claim from the page, and the claim is then issued', async () => {
    const { t } = gate;
    const campaign = await createCampaign(t, { name: 'Gate sale', totalQuantity: 10 });
    const { claimId, freeSlot } = await slotTakenDeadLetter(gate, campaign.id, 'bea');
    await freeSlot();

    await signInToConsole(page, base, 'gate-admin@example.com', PASSWORD);
    await page.getByRole('link', { name: 'Dead letters' }).click();
    await page.getByRole('combobox', { name: 'Campaign' }).click();
    await page.getByRole('option', { name: 'Gate sale' }).click();
    const table = page.getByRole('table', { name: 'Dead letters' });
    await table.getByRole('cell', { name: claimId, exact: true }).waitFor();
    await table.getByText('slot-taken', { exact: true }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    await page.getByRole('button', { name: `Retry claim ${claimId}` }).click();
    await page.getByRole('dialog', { name: 'Retry?' }).getByRole('button', { name: 'Yes, retry' }).click();
    await page.getByRole('status').getByText(`Claim ${claimId} queued again.`).waitFor();
    await page.getByText('No dead letters.').waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    await waitForDrain(t.database.db, t.app.services.redis!, { timeoutMs: 20_000 });
    const status = await fetch(`${base}/v1/claims/${claimId}`, { headers: bearer(t.adminToken) });
    expect(await status.json()).toMatchObject({ status: 'issued', coupon: { id: claimId, userId: 'bea' } });
  });
});
