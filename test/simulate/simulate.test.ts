/**
 * `simulate` end to end: a real in-process Stampede on PGlite and on PostgreSQL, real HTTP claims
 * and redemptions, and the report's figures checked for consistency.
 */
import { describe, expect, it } from 'vitest';
import { planClaims } from '../../src/simulate/plan.js';
import type { SimulationReport } from '../../src/simulate/report.js';
import { type SimulateOptions, simulate } from '../../src/simulate/simulate.js';
import { remoteTarget, type SimulationTarget, startInProcessTarget } from '../../src/simulate/target.js';
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

/** Runs a simulation against a fresh in-process server on `engine` and closes everything. */
async function simulateOn(
  engine: (typeof ENGINES)[number],
  options: SimulateOptions,
  strategy: 'db-atomic' | 'db-lock' = 'db-atomic',
  wrap: (target: SimulationTarget) => SimulationTarget = (target) => target,
): Promise<SimulationReport> {
  const database = engine === 'postgres' ? await createTestDatabase('postgres') : undefined;
  try {
    const target = await startInProcessTarget({ config: testConfig(), strategy, databaseUrl: database?.url });
    try {
      return await simulate(wrap(target), options);
    } finally {
      await target.close();
    }
  } finally {
    await database?.close();
  }
}

/** Figures every clean run must show, whatever the engine and strategy. */
function expectConsistent(report: SimulationReport, options: SimulateOptions) {
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
    pending: 0,
  });
  expect(report.claims.requests).toBe(claims);
  expect(report.claims.byStatus['201']).toBe(issuable);
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
    const report = await simulateOn(engine, options, 'db-lock');
    expectConsistent(report, options);
    expect(report.scenario.strategy).toBe('db-lock');
  });
});

it('judges a remote server from responses and the campaign JSON alone', async () => {
  const options = { ...SMALL, users: 100, stock: 20, seed: 11 };
  const report = await simulateOn('postgres', options, 'db-atomic', (target) =>
    remoteTarget(target.url, target.token),
  );
  expectConsistent(report, options);
  expect(report.truth).toBe('responses');
  expect(report.target.mode).toBe('remote');
  expect(report.figures.distinctUsersIssued).toBe(20);
});
