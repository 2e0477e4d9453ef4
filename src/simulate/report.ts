/**
 * The simulation report: a plain object (what `--json` prints) built by pure functions from the
 * load phases and the invariant figures, and its text rendering for people.
 */
import type { StrategyName } from '../config.js';
import type { InvariantFigures, Violation } from './invariants.js';
import type { PhaseResult } from './load.js';

/** Latency percentiles in ms (nearest-rank). */
export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface PhaseSummary {
  requests: number;
  durationMs: number;
  /** Requests per second over the phase's wall time. */
  throughput: number;
  latencyMs: LatencySummary;
  /** Responses by HTTP status ("0" = no response). */
  byStatus: Record<string, number>;
  /** Error responses by problem code. */
  byCode: Record<string, number>;
}

export interface ScenarioSummary {
  users: number;
  stock: number;
  attempts: number;
  perUserLimit: number;
  concurrency: number;
  seed: number;
  /** The in-process server's strategy, or `undefined` against a remote server (its own). */
  strategy: StrategyName | undefined;
  /** Coupons chosen for the redemption phase (two concurrent attempts each). */
  redeemSample: number;
}

export interface SimulationReport {
  scenario: ScenarioSummary;
  target: { mode: 'in-process' | 'remote'; engine: 'pglite' | 'postgres' | 'unknown'; url: string };
  /** Where the invariant figures come from. */
  truth: 'database' | 'responses';
  campaignId: string;
  /** `drainMs`: from the last claim response until every pending claim was persisted (null: none pending). */
  figures: InvariantFigures & { distinctUsersIssued: number; pending: number; drainMs: number | null };
  claims: PhaseSummary;
  redemptions: PhaseSummary;
  violations: Violation[];
  /** True when no invariant broke (exit code 0). */
  ok: boolean;
}

/**
 * Nearest-rank percentiles of the first `count` values. Sorts that part of `values` in place
 * (one sort for all percentiles); returns zeros when `count` is 0.
 */
export function latencySummary(values: Float64Array, count = values.length): LatencySummary {
  if (count === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };
  const sorted = values.subarray(0, count).sort();
  const at = (p: number) => sorted[Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count) - 1))]!;
  return { p50: at(50), p95: at(95), p99: at(99), max: sorted[count - 1]! };
}

/** Summarizes a load phase (sorts its latency array in place). */
export function summarizePhase(result: PhaseResult): PhaseSummary {
  return {
    requests: result.requests,
    durationMs: result.durationMs,
    throughput: result.durationMs > 0 ? (result.requests * 1000) / result.durationMs : 0,
    latencyMs: latencySummary(result.latenciesMs, result.requests),
    byStatus: Object.fromEntries([...result.byStatus].sort(([a], [b]) => a - b)),
    byCode: Object.fromEntries([...result.byCode].sort(([a], [b]) => a.localeCompare(b))),
  };
}

/** Renders a report for a terminal: figures, then each phase, then the verdict. */
export function formatReport(report: SimulationReport): string {
  const { scenario: s, figures: f, target } = report;
  const strategy = s.strategy ?? "server's own";
  const lines = [
    `Stampede simulate: ${s.users} users, ${formatCount(report.claims.requests)} claims (1-${s.attempts} each), ` +
      `stock ${s.stock}, per-user limit ${s.perUserLimit}, concurrency ${s.concurrency}, seed ${s.seed}`,
    `target: ${target.mode} ${target.url} (engine ${target.engine}, strategy ${strategy})`,
    `campaign: ${report.campaignId}`,
    `truth: ${
      report.truth === 'database'
        ? 'read from the database, checked against the responses'
        : 'responses and GET /v1/campaigns/{id} only (no database access)'
    }`,
    '',
    row('stock', f.stock),
    row('issued', f.issued),
    row('issuedCount (campaign)', f.issuedCount),
    row('acknowledged (201/202)', f.acknowledged),
    row('  of which pending (202)', f.pending),
    ...(f.drainMs === null ? [] : [line('  drain time', `${(f.drainMs / 1000).toFixed(2)} s`)]),
    row('distinct users issued', f.distinctUsersIssued),
    row('over-issued', f.overIssued),
    row('users above their limit', f.usersAboveLimit),
    row('double redemptions', f.doubleRedemptions),
    row('acknowledged but missing', f.missingAcknowledged),
    '',
    ...formatPhase('claims', report.claims),
    '',
    ...formatPhase(`redemptions (${s.redeemSample} coupons x 2 attempts)`, report.redemptions),
    '',
  ];
  if (report.ok) lines.push('OK: every invariant held');
  else {
    lines.push(`FAILED: ${report.violations.length} invariant(s) broken`);
    for (const v of report.violations) lines.push(`  - ${v.invariant}: ${v.detail}`);
  }
  return lines.join('\n');
}

function formatPhase(title: string, phase: PhaseSummary): string[] {
  const l = phase.latencyMs;
  const statuses = Object.entries(phase.byStatus)
    .map(([status, n]) => `${status === '0' ? 'no response' : status}: ${formatCount(n)}`)
    .join(', ');
  const codes = Object.entries(phase.byCode)
    .map(([code, n]) => `${code}: ${formatCount(n)}`)
    .join(', ');
  return [
    `${title}:`,
    row('  requests', phase.requests),
    line(
      '  throughput',
      `${phase.throughput.toFixed(0)} req/s over ${(phase.durationMs / 1000).toFixed(2)} s`,
    ),
    line('  latency ms', `p50 ${ms(l.p50)}  p95 ${ms(l.p95)}  p99 ${ms(l.p99)}  max ${ms(l.max)}`),
    line('  by status', statuses || '-'),
    line('  by code', codes || '-'),
  ];
}

const line = (label: string, text: string) => `${label.padEnd(27)}${text}`;
const row = (label: string, value: number) => line(label, formatCount(value));
const formatCount = (n: number) => n.toLocaleString('en-US');
const ms = (value: number) => value.toFixed(1);
