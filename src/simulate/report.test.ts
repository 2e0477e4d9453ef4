import { describe, expect, it } from 'vitest';
import { findViolations, type InvariantFigures, type ResponseFacts, summarizeFigures } from './invariants.js';
import { formatReport, latencySummary, type SimulationReport, summarizePhase } from './report.js';

describe('latencySummary', () => {
  it('gives nearest-rank percentiles of unsorted values', () => {
    const values = Float64Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(latencySummary(values)).toEqual({ p50: 50, p95: 95, p99: 99, max: 100 });
  });

  it('looks only at the first count values', () => {
    expect(latencySummary(Float64Array.from([3, 1, 2, 1000]), 3)).toEqual({ p50: 2, p95: 3, p99: 3, max: 3 });
  });

  it('returns zeros for no values', () => {
    expect(latencySummary(new Float64Array(0))).toEqual({ p50: 0, p95: 0, p99: 0, max: 0 });
  });
});

describe('summarizePhase', () => {
  it('computes throughput over the wall time and orders statuses and codes', () => {
    const summary = summarizePhase({
      requests: 4,
      durationMs: 2000,
      latenciesMs: Float64Array.from([10, 20, 30, 40]),
      byStatus: new Map([
        [409, 3],
        [201, 1],
      ]),
      byCode: new Map([
        ['sold-out', 2],
        ['already-claimed', 1],
      ]),
    });
    expect(summary.throughput).toBe(2);
    expect(summary.latencyMs.p50).toBe(20);
    expect(Object.entries(summary.byStatus)).toEqual([
      ['201', 1],
      ['409', 3],
    ]);
    expect(Object.keys(summary.byCode)).toEqual(['already-claimed', 'sold-out']);
  });
});

const cleanResponses: ResponseFacts = {
  acknowledged: 10,
  usersAboveLimit: 0,
  doubleRedemptions: 0,
  soldOutResponses: 5,
  alreadyClaimedBelowLimit: 0,
  serverErrors: 0,
  unanswered: 0,
};
const campaign = { stock: 10, perUserLimit: 1, issuedCount: 10 };

describe('summarizeFigures and findViolations', () => {
  it('finds nothing wrong in a clean sold-out run', () => {
    const figures = summarizeFigures(campaign, cleanResponses, undefined);
    expect(figures).toMatchObject({
      issued: 10,
      overIssued: 0,
      missingAcknowledged: 0,
      soldOutWithStockLeft: 0,
    });
    expect(findViolations(figures)).toEqual([]);
  });

  it('takes the worse of responses and database for each figure', () => {
    const figures = summarizeFigures(
      campaign,
      { ...cleanResponses, acknowledged: 12, usersAboveLimit: 1 },
      {
        stock: 10,
        issuedCount: 10,
        coupons: 11,
        distinctUsers: 10,
        usersAboveLimit: 0,
        doubleRedemptions: 2,
        missingAcknowledged: 1,
      },
    );
    expect(figures).toMatchObject({
      issued: 11,
      overIssued: 2,
      usersAboveLimit: 1,
      doubleRedemptions: 2,
      missingAcknowledged: 1,
    });
    expect(findViolations(figures).map((v) => v.invariant)).toEqual([
      'over-issue',
      'user-above-limit',
      'double-redemption',
      'acknowledged-claim-missing',
      'issued-count-drift',
    ]);
  });

  it('without a database counts acknowledged claims beyond the campaign counter as missing', () => {
    const figures = summarizeFigures(
      { ...campaign, issuedCount: 8 },
      { ...cleanResponses, acknowledged: 9 },
      undefined,
    );
    expect(figures.missingAcknowledged).toBe(1);
    expect(figures.soldOutWithStockLeft).toBe(5);
    expect(findViolations(figures).map((v) => v.invariant)).toEqual([
      'acknowledged-claim-missing',
      'sold-out-with-stock-left',
    ]);
  });

  it('flags wrong rejections, 5xx responses and unanswered requests', () => {
    const figures = summarizeFigures(
      campaign,
      { ...cleanResponses, alreadyClaimedBelowLimit: 2, serverErrors: 3, unanswered: 1 },
      undefined,
    );
    const violations = findViolations(figures);
    expect(violations.map((v) => v.invariant)).toEqual([
      'already-claimed-below-limit',
      'server-error',
      'unanswered-request',
    ]);
    expect(violations[1]!.detail).toBe('3 responses with a 5xx status');
  });
});

describe('formatReport', () => {
  const figures: InvariantFigures = summarizeFigures(campaign, cleanResponses, undefined);
  const phase = summarizePhase({
    requests: 2,
    durationMs: 1000,
    latenciesMs: Float64Array.from([1, 2]),
    byStatus: new Map([[201, 2]]),
    byCode: new Map(),
  });
  const report: SimulationReport = {
    scenario: {
      users: 20,
      stock: 10,
      attempts: 3,
      perUserLimit: 1,
      concurrency: 5,
      seed: 1,
      strategy: 'db-atomic',
      redeemSample: 1,
    },
    target: { mode: 'in-process', engine: 'pglite', url: 'http://127.0.0.1:1' },
    truth: 'database',
    campaignId: 'c',
    figures: { ...figures, distinctUsersIssued: 10, pending: 0, drainMs: null },
    claims: phase,
    redemptions: phase,
    violations: [],
    ok: true,
  };

  it('shows the drain time only when claims were pending', () => {
    expect(formatReport(report)).not.toContain('drain time');
    const pending = { ...report, figures: { ...report.figures, pending: 10, drainMs: 1234 } };
    expect(formatReport(pending)).toMatch(/drain time\s+1\.23 s/);
  });

  it('shows the figures, the phases and the verdict', () => {
    const text = formatReport(report);
    expect(text).toContain('stock                      10');
    expect(text).toContain('over-issued                0');
    expect(text).toContain('p50 1.0  p95 2.0  p99 2.0');
    expect(text).toMatch(/\n {2}by status +201: 2\n/);
    expect(text).toMatch(/OK: every invariant held$/);
  });

  it('lists each broken invariant', () => {
    const broken = {
      ...report,
      ok: false,
      violations: [{ invariant: 'over-issue' as const, detail: '1 coupons beyond' }],
    };
    expect(formatReport(broken)).toMatch(
      /FAILED: 1 invariant\(s\) broken\n {2}- over-issue: 1 coupons beyond$/,
    );
  });
});
