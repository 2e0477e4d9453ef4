/**
 * `simulate` end to end: a real in-process Stampede on PGlite and on PostgreSQL, real HTTP claims
 * and redemptions, and the report's figures checked for consistency.
 */
import { describe, expect, it } from 'vitest';
import { findCampaign } from '../../src/campaigns/repository.js';
import type { StrategyName } from '../../src/config.js';
import { DomainError } from '../../src/errors.js';
import { DbAtomicStrategy } from '../../src/issuance/strategies/db-atomic.js';
import type { ClaimRequest, IssuanceStrategy } from '../../src/issuance/strategies/types.js';
import { planClaims } from '../../src/simulate/plan.js';
import type { SimulationReport } from '../../src/simulate/report.js';
import { type SimulateOptions, simulate } from '../../src/simulate/simulate.js';
import {
  type IssuancePluginFactory,
  remoteTarget,
  type SimulationTarget,
  startInProcessTarget,
} from '../../src/simulate/target.js';
import { testConfig } from '../helpers/app.js';
import { createTestDatabase, ENGINES } from '../helpers/database.js';

const SMALL: SimulateOptions = {
  users: 300,
  stock: 50,
  attempts: 3,
  concurrency: 40,
  perUserLimit: 1,
  seed: 20261122,
  redeemSample: 20,
};

interface RunOptions {
  strategy?: StrategyName;
  /** Plugs in a strategy that is not a database one. */
  issuance?: IssuancePluginFactory;
  /** Replaces the target, e.g. to see the in-process server as a remote one. */
  wrap?: (target: SimulationTarget) => SimulationTarget;
}

/** Runs a simulation against a fresh in-process server on `engine` and closes everything. */
async function simulateOn(
  engine: (typeof ENGINES)[number],
  options: SimulateOptions,
  { strategy = 'db-atomic', issuance, wrap = (target) => target }: RunOptions = {},
): Promise<SimulationReport> {
  const database = engine === 'postgres' ? await createTestDatabase('postgres') : undefined;
  try {
    const target = await startInProcessTarget({
      config: testConfig(),
      strategy,
      databaseUrl: database?.url,
      issuance,
    });
    try {
      return await simulate(wrap(target), options);
    } finally {
      await target.close();
    }
  } finally {
    await database?.close();
  }
}

/** Figures every clean run must show, whatever the engine and strategy (201 issued, or 202 pending). */
function expectConsistent(report: SimulationReport, options: SimulateOptions, acknowledgedStatus = 201) {
  const plan = planClaims(options);
  const claims = plan.userOfClaim.length;
  // A user can be issued at most min(its attempts, the limit) coupons.
  const wanted = plan.attemptsOfUser.reduce(
    (sum, attempts) => sum + Math.min(attempts, options.perUserLimit),
    0,
  );
  const issuable = Math.min(options.stock, wanted);
  expect(report.violations).toEqual([]);
  expect(report.ok).toBe(true);
  expect(report.figures).toMatchObject({
    stock: options.stock,
    issued: issuable,
    issuedCount: issuable,
    acknowledged: issuable,
    overIssued: 0,
    usersAboveLimit: 0,
    doubleRedemptions: 0,
    missingAcknowledged: 0,
    pending: acknowledgedStatus === 202 ? issuable : 0,
  });
  expect(report.claims.requests).toBe(claims);
  expect(report.claims.byStatus[String(acknowledgedStatus)]).toBe(issuable);
  expect(report.claims.byStatus['409']).toBe(claims - issuable);
  const rejected = Object.values(report.claims.byCode).reduce((sum, n) => sum + n, 0);
  expect(rejected).toBe(claims - issuable);
  expect(report.claims.latencyMs.p50).toBeLessThanOrEqual(report.claims.latencyMs.p99);
  expect(report.redemptions).toMatchObject({
    requests: options.redeemSample * 2,
    byStatus: { '201': options.redeemSample, '409': options.redeemSample },
    byCode: { 'already-redeemed': options.redeemSample },
  });
}

/**
 * PGlite serializes every query in this one process (server and load generator included), so its
 * runs are smaller to keep the file quick on a busy 2-core machine.
 */
const SIZE = {
  postgres: SMALL,
  pglite: { ...SMALL, users: 150, stock: 30, concurrency: 20, redeemSample: 10 },
} as const;

describe.each(ENGINES)('simulate on %s', (engine) => {
  it('issues exactly the stock to distinct users and redeems each sampled coupon once (db-atomic)', async () => {
    const options = SIZE[engine];
    const report = await simulateOn(engine, options);
    expectConsistent(report, options);
    expect(report.truth).toBe('database');
    expect(report.target).toMatchObject({ mode: 'in-process', engine });
    expect(report.figures.distinctUsersIssued).toBe(options.stock);
    expect(report.claims.byCode['sold-out']).toBeGreaterThan(0);
  });

  it('holds the per-user limit of 2 under impatient retries (db-lock)', async () => {
    const options = { ...SIZE[engine], users: 60, stock: 90, perUserLimit: 2, attempts: 4, seed: 3 };
    const report = await simulateOn(engine, options, { strategy: 'db-lock' });
    expectConsistent(report, options);
    expect(report.scenario.strategy).toBe('db-lock');
  });
});

it('judges a remote server from responses and the campaign JSON alone', async () => {
  const options = { ...SMALL, users: 100, stock: 20, seed: 11 };
  const report = await simulateOn('postgres', options, {
    wrap: (target) => remoteTarget(target.url, target.token),
  });
  expectConsistent(report, options);
  expect(report.truth).toBe('responses');
  expect(report.target.mode).toBe('remote');
  expect(report.figures.distinctUsersIssued).toBe(20);
});

/**
 * An admitting strategy for the 202 path, shaped like redis-gate: it decides at once from counters
 * it keeps (stock and per-user holdings, one process) and answers pending; its "worker" starts
 * persisting (through db-atomic, one claim after the other) only once it has answered
 * `burstSize` claims, so every coupon is still unpersisted when the burst ends and the simulator
 * has to wait. `waitForSettled` resolves when the worker's queue is drained.
 */
function deferredIssuance(burstSize: number, persisted: { count: number }): IssuancePluginFactory {
  return async (database) => {
    const persist = new DbAtomicStrategy(database.db);
    const counters = new Map<string, { issued: number; byUser: Map<string, number> }>();
    const waiting: ClaimRequest[] = [];
    let answered = 0;
    let worker: Promise<void> = Promise.resolve();
    const answer = () => {
      if (++answered !== burstSize) return;
      worker = (async () => {
        for (const request of waiting) {
          await persist.claim(request);
          persisted.count++;
        }
      })();
    };
    const strategy: IssuanceStrategy = {
      name: 'redis-gate',
      claim: async (request: ClaimRequest) => {
        try {
          const campaign = await findCampaign(database.db, request.campaignId);
          if (!campaign) throw new DomainError('not-found');
          const state = counters.get(campaign.id) ?? { issued: 0, byUser: new Map() };
          counters.set(campaign.id, state);
          const held = state.byUser.get(request.userId) ?? 0;
          if (held >= campaign.perUserLimit) throw new DomainError('already-claimed');
          if (state.issued >= campaign.totalQuantity) throw new DomainError('sold-out');
          state.issued++;
          state.byUser.set(request.userId, held + 1);
          waiting.push(request);
          return { status: 'pending', claimId: request.claimId, position: state.issued };
        } finally {
          answer();
        }
      },
    };
    return { strategy, waitForSettled: () => worker, close: async () => {} };
  };
}

describe('claims answered 202 (pending)', () => {
  const options = { ...SMALL, users: 120, stock: 25, seed: 17, redeemSample: 5 };
  const burstSize = planClaims(options).userOfClaim.length;

  it('waits through the strategy hook until every pending claim is persisted, then checks the database', async () => {
    const persisted = { count: 0 };
    const report = await simulateOn('postgres', options, {
      strategy: 'redis-gate',
      issuance: deferredIssuance(burstSize, persisted),
    });
    expectConsistent(report, options, 202);
    expect(persisted.count).toBe(25);
  });

  it('waits on the campaign issuedCount of a remote server until the pending claims are persisted', async () => {
    const persisted = { count: 0 };
    const report = await simulateOn('postgres', options, {
      strategy: 'redis-gate',
      issuance: deferredIssuance(burstSize, persisted),
      wrap: (target) => remoteTarget(target.url, target.token),
    });
    expectConsistent(report, options, 202);
    expect(report.truth).toBe('responses');
    expect(persisted.count).toBe(25);
  });
});
