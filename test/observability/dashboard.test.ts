/**
 * The Grafana dashboard (ops/grafana/stampede.json) queries only what the service exports: every
 * PromQL expression is parsed with Prometheus's own grammar (@prometheus-io/lezer-promql) and
 * each metric it selects must be a family of a real scrape (or a histogram's _bucket/_sum/_count).
 */
import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.js';
import { queryableNames } from '../helpers/prometheus.js';

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../ops/grafana/stampede.json', import.meta.url), 'utf8'),
) as {
  panels: Panel[];
};
const queries = dashboard.panels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })),
);

/** Grafana's interval variables become a concrete duration so that the text is plain PromQL. */
function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)/g, '5m');
}

/** Metric names selected by a PromQL expression. @throws on a syntax error. */
function selectedMetrics(expr: string): string[] {
  const text = withoutGrafanaVariables(expr);
  const names: string[] = [];
  const errors: number[] = [];
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        names.push(text.slice(node.from, node.to));
      }
    },
  });
  if (errors.length > 0) throw new Error(`PromQL syntax error at ${errors[0]} in: ${text}`);
  return names;
}

const t = useTestApp('pglite');
let exported: Set<string>;

beforeAll(async () => {
  exported = queryableNames((await t.app.inject({ method: 'GET', url: '/metrics' })).body);
});

describe('the Grafana dashboard', () => {
  it('has the panels the operators asked for', () => {
    const titles = dashboard.panels.map((panel) => panel.title.toLowerCase()).join('\n');
    for (const topic of [
      'claims/s by outcome',
      'remaining stock',
      'p99',
      'stream lag',
      'dead letters',
      'cache hit ratio',
      'event-loop lag',
    ]) {
      expect(titles).toContain(topic);
    }
  });

  it('parses every query and selects at least one metric in each', () => {
    expect(queries.length).toBeGreaterThan(10);
    for (const { expr } of queries) expect(selectedMetrics(expr).length).toBeGreaterThan(0);
  });

  it('queries only metrics that a real scrape of the service exports', () => {
    const unknown = queries.flatMap(({ panel, expr }) =>
      selectedMetrics(expr)
        .filter((name) => !exported.has(name))
        .map((name) => `${panel}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('would notice a query of a metric that does not exist', () => {
    expect(selectedMetrics('rate(stampede_claims_totl[5m])').filter((name) => !exported.has(name))).toEqual([
      'stampede_claims_totl',
    ]);
  });
});
