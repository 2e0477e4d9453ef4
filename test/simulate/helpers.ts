/** Shared by the simulate suites: run a simulation on a fresh in-process server, check its report. */
import { expect } from 'vitest';
import { type IssuancePluginFactory, startInProcessTarget } from '../../src/app/simulation-target.js';
import type { StrategyName } from '../../src/config.js';
import { planClaims } from '../../src/simulate/plan.js';
import type { SimulationReport } from '../../src/simulate/report.js';
import { type SimulateOptions, simulate } from '../../src/simulate/simulate.js';
import type { SimulationTarget } from '../../src/simulate/target.js';
import { testConfig } from '../helpers/app.js';
import { createTestDatabase, type ENGINES } from '../support/database.js';

export const SMALL: SimulateOptions = {
  users: 300,
  stock: 50,
  attempts: 3,
  concurrency: 40,
  perUserLimit: 1,
  seed: 20261122,
  redeemSample: 20,
};

export interface RunOptions {
  strategy?: StrategyName;
  /** Plugs in a strategy that is not a database one. */
  issuance?: IssuancePluginFactory;
  /** Replaces the target, e.g. to see the in-process server as a remote one. */
  wrap?: (target: SimulationTarget) => SimulationTarget;
}

/** Runs a simulation against a fresh in-process server on `engine` and closes everything. */
export async function simulateOn(
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
export function expectConsistent(
  report: SimulationReport,
  options: SimulateOptions,
  acknowledgedStatus = 201,
) {
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
