/**
 * The flash-sale simulation, Stampede's main job on real input: create a campaign, fire a burst
 * of real HTTP claims (users racing, impatient retries in flight together), redeem a sample of
 * the issued coupons with two concurrent attempts each, then check every guarantee against the
 * database (or the responses alone for a remote server) and report.
 *
 * Claims and redemptions go through the public API as a shop backend would: an admin token acts
 * for the simulated users with `{ "userId": "sim-<n>" }`.
 */
import { randomInt } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import { type DatabaseTruth, findViolations, summarizeFigures } from './invariants.js';
import { type Outcome, type PhaseResult, problemCode, runPhase, StampedeClient } from './load.js';
import { planClaims, sample, seededRandom, simulatedUserId } from './plan.js';
import { type SimulationReport, summarizePhase } from './report.js';
import type { SimulationTarget } from './target.js';

export interface SimulateOptions {
  users: number;
  stock: number;
  /** Maximum claims per user; each sends 1..attempts, concurrently. */
  attempts: number;
  /** Maximum requests in flight (also the number of HTTP connections). */
  concurrency: number;
  perUserLimit: number;
  /** Seed of the schedule and of the redemption sample. */
  seed: number;
  /** Coupons to redeem, two concurrent attempts each (0 = skip the redemption phase). */
  redeemSample: number;
  onProgress?: ((phase: 'claims' | 'redemptions', completed: number, total: number) => void) | undefined;
}

export const SIMULATE_DEFAULTS = {
  users: 10_000,
  stock: 1_000,
  attempts: 3,
  concurrency: 500,
  perUserLimit: 1,
  redeemSample: 200,
} as const;

/** A random seed for a run that was not given one (printed in the report to replay it). */
export const randomSeed = () => randomInt(2 ** 31);

/** Order amount of simulated redemptions, minor units: above any discount the campaign gives. */
const ORDER_AMOUNT = 10_000;

/**
 * Runs one simulation against `target` (which the caller opens and closes).
 * @returns the report; `report.ok` is false when an invariant broke.
 * @throws Error when the campaign cannot be created (e.g. the token is not an admin's).
 */
export async function simulate(
  target: SimulationTarget,
  options: SimulateOptions,
): Promise<SimulationReport> {
  const client = new StampedeClient(target.url, target.token, options.concurrency);
  try {
    const campaignId = await createCampaign(client, options);
    const claims = await runClaims(client, campaignId, options);
    // Time from the last claim response until every pending (202) claim is persisted.
    let drainMs: number | null = null;
    if (claims.pending > 0) {
      const drainStart = performance.now();
      await (target.waitForSettled
        ? target.waitForSettled(claims.acknowledged.map((a) => a.couponId))
        : waitForIssuedCount(client, campaignId, claims.acknowledged.length));
      drainMs = performance.now() - drainStart;
    }

    const chosen = sample(claims.acknowledged, options.redeemSample, seededRandom(options.seed ^ 0x5eed));
    const redemptions = await runRedemptions(client, campaignId, chosen, options);

    const truth: DatabaseTruth | undefined = await target.readTruth?.(
      campaignId,
      claims.acknowledged.map((a) => a.couponId),
    );
    const campaign = truth
      ? { stock: truth.stock, perUserLimit: options.perUserLimit, issuedCount: truth.issuedCount }
      : await readCampaign(client, campaignId);

    const phases = [claims.phase, redemptions.phase];
    const figures = summarizeFigures(
      campaign,
      {
        acknowledged: claims.acknowledged.length,
        usersAboveLimit: claims.usersAboveLimit,
        doubleRedemptions: redemptions.doubleRedemptions,
        soldOutResponses: claims.phase.byCode.get('sold-out') ?? 0,
        alreadyClaimedBelowLimit: claims.alreadyClaimedBelowLimit,
        serverErrors: countStatuses(phases, (status) => status >= 500),
        unanswered: countStatuses(phases, (status) => status === 0),
      },
      truth,
    );
    const violations = findViolations(figures);
    return {
      scenario: {
        users: options.users,
        stock: options.stock,
        attempts: options.attempts,
        perUserLimit: options.perUserLimit,
        concurrency: options.concurrency,
        seed: options.seed,
        strategy: target.strategy,
        redeemSample: chosen.length,
      },
      target: { mode: target.mode, engine: target.engine, url: target.url },
      truth: truth ? 'database' : 'responses',
      campaignId,
      figures: {
        ...figures,
        distinctUsersIssued: truth ? truth.distinctUsers : claims.distinctUsers,
        pending: claims.pending,
        drainMs,
      },
      claims: summarizePhase(claims.phase),
      redemptions: summarizePhase(redemptions.phase),
      violations,
      ok: violations.length === 0,
    };
  } finally {
    await client.close();
  }
}

async function createCampaign(client: StampedeClient, options: SimulateOptions): Promise<string> {
  const response = await client.post(
    '/v1/campaigns',
    JSON.stringify({
      name: `simulate seed ${options.seed}`,
      totalQuantity: options.stock,
      perUserLimit: options.perUserLimit,
      status: 'active',
      discount: { type: 'fixed', amount: 1000 },
      couponValidity: { seconds: 86_400 },
    }),
  );
  const id = response.body?.id;
  if (response.status !== 201 || typeof id !== 'string') {
    const detail = response.body?.detail ?? JSON.stringify(response.body);
    throw new Error(`could not create the campaign (HTTP ${response.status}): ${detail}`);
  }
  return id;
}

/** Poll interval and patience of {@link waitForIssuedCount}, ms. */
const SETTLE_POLL_MS = 200;
const SETTLE_PATIENCE_MS = 10_000;

/**
 * Waits until the campaign's `issuedCount` reaches `acknowledged` (every pending claim persisted),
 * or has not moved for {@link SETTLE_PATIENCE_MS}; the invariant check then reports what is missing.
 */
async function waitForIssuedCount(client: StampedeClient, campaignId: string, acknowledged: number) {
  let last = -1;
  let lastMovedAt = performance.now();
  for (;;) {
    const { issuedCount } = await readCampaign(client, campaignId);
    if (issuedCount >= acknowledged) return;
    if (issuedCount !== last) {
      last = issuedCount;
      lastMovedAt = performance.now();
    } else if (performance.now() - lastMovedAt > SETTLE_PATIENCE_MS) return;
    await setTimeout(SETTLE_POLL_MS);
  }
}

async function readCampaign(client: StampedeClient, campaignId: string) {
  const response = await client.get(`/v1/campaigns/${campaignId}`);
  const body = response.body ?? {};
  if (response.status !== 200)
    throw new Error(`could not read campaign ${campaignId}: HTTP ${response.status}`);
  return {
    stock: Number(body.totalQuantity),
    perUserLimit: Number(body.perUserLimit),
    issuedCount: Number(body.issuedCount),
  };
}

/** An acknowledged claim: the coupon id (= claim id) and the user index it was issued to. */
interface Acknowledged {
  couponId: string;
  user: number;
}

async function runClaims(client: StampedeClient, campaignId: string, options: SimulateOptions) {
  const plan = planClaims({ users: options.users, attempts: options.attempts, seed: options.seed });
  const total = plan.userOfClaim.length;
  const path = `/v1/campaigns/${campaignId}/claims`;
  // Attempts per user fit in a byte (at most 255, checked by planClaims).
  const acknowledgedByUser = new Uint8Array(options.users);
  const alreadyClaimedByUser = new Uint8Array(options.users);
  const acknowledgedOfClaim: (string | undefined)[] = new Array(total);
  let pending = 0;

  const send = async (index: number): Promise<Outcome> => {
    const user = plan.userOfClaim[index]!;
    const response = await client.post(path, `{"userId":"${simulatedUserId(user)}"}`);
    if (response.status === 201 || response.status === 202) {
      const body = response.body ?? {};
      const id = response.status === 201 ? (body.coupon as { id?: unknown } | undefined)?.id : body.claimId;
      // An acknowledgement without an id still counts; the missing-claim check then flags it.
      acknowledgedOfClaim[index] = typeof id === 'string' ? id : '00000000-0000-0000-0000-000000000000';
      acknowledgedByUser[user]!++;
      if (response.status === 202) pending++;
      return { status: response.status };
    }
    const code = problemCode(response);
    if (code === 'already-claimed') alreadyClaimedByUser[user]!++;
    return { status: response.status, code };
  };

  const phase = await runPhase(total, options.concurrency, send, (done) =>
    options.onProgress?.('claims', done, total),
  );

  const acknowledged: Acknowledged[] = [];
  for (let index = 0; index < total; index++) {
    const couponId = acknowledgedOfClaim[index];
    if (couponId !== undefined) acknowledged.push({ couponId, user: plan.userOfClaim[index]! });
  }
  let distinctUsers = 0;
  let usersAboveLimit = 0;
  let alreadyClaimedBelowLimit = 0;
  for (let user = 0; user < options.users; user++) {
    const held = acknowledgedByUser[user]!;
    if (held > 0) distinctUsers++;
    if (held > options.perUserLimit) usersAboveLimit++;
    if (alreadyClaimedByUser[user]! > 0 && held < options.perUserLimit) alreadyClaimedBelowLimit++;
  }
  return { phase, acknowledged, pending, distinctUsers, usersAboveLimit, alreadyClaimedBelowLimit };
}

/**
 * Redeems each chosen coupon with two concurrent attempts carrying distinct Idempotency-Keys, so
 * the pair tests double redemption (exactly one may succeed), not idempotent replay.
 */
async function runRedemptions(
  client: StampedeClient,
  campaignId: string,
  coupons: Acknowledged[],
  options: SimulateOptions,
) {
  const total = coupons.length * 2;
  const succeededByCoupon = new Uint8Array(coupons.length);
  const send = async (index: number): Promise<Outcome> => {
    const couponIndex = index >> 1;
    const { couponId, user } = coupons[couponIndex]!;
    const response = await client.post(
      '/v1/redemptions',
      `{"couponId":"${couponId}","orderId":"sim-order-${couponIndex}","orderAmount":${ORDER_AMOUNT},` +
        `"userId":"${simulatedUserId(user)}"}`,
      { 'idempotency-key': `sim-${campaignId}-${couponIndex}-${index & 1}` },
    );
    if (response.status === 201) succeededByCoupon[couponIndex]!++;
    return { status: response.status, code: problemCode(response) };
  };
  const phase = await runPhase(total, options.concurrency, send, (done) =>
    options.onProgress?.('redemptions', done, total),
  );
  const doubleRedemptions = succeededByCoupon.reduce((n, succeeded) => n + (succeeded > 1 ? 1 : 0), 0);
  return { phase, doubleRedemptions };
}

function countStatuses(phases: PhaseResult[], matches: (status: number) => boolean): number {
  let count = 0;
  for (const phase of phases) for (const [status, n] of phase.byStatus) if (matches(status)) count += n;
  return count;
}
