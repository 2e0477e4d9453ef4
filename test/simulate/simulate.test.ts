/**
 * `simulate` end to end: a real in-process Stampede on PGlite and on PostgreSQL, real HTTP claims
 * and redemptions, and the report's figures checked for consistency.
 */
import { describe, expect, it } from 'vitest';
import { remoteTarget } from '../../src/simulate/target.js';
import { ENGINES } from '../support/database.js';
import { expectConsistent, SMALL, simulateOn } from './helpers.js';

/**
 * PGlite serializes every query in this one process (server and load generator included), so its
 * runs are smaller to keep the file quick on a busy 2-core machine.
 */
const SIZE = {
  postgres: SMALL,
  pglite: { ...SMALL, users: 100, stock: 25, concurrency: 20, redeemSample: 10 },
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
    const options = { ...SIZE[engine], users: 40, stock: 60, perUserLimit: 2, attempts: 4, seed: 3 };
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
