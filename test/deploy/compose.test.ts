/**
 * The deployment files (Dockerfile, compose.yaml, ops/) cannot be run here (no container engine),
 * so they are parsed and checked against the code: every environment variable they set is one the
 * config schema knows, service names and ports agree, and Prometheus scrapes every API replica.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
/** The host side of a compose bind mount (`./ops/x:/etc/x:ro`) exists in the checkout. */
const mounted = (volume: string) => existsSync(new URL(volume.split(':')[0]!, root));

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, unknown> | string[];
}
const compose = parse(read('compose.yaml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const stampede = Object.entries(services).filter(([, service]) => service.build !== undefined);
const known = new Set(CONFIG_VARIABLES.map((variable) => variable.name));

/** Dockerfile instructions as [keyword, arguments] pairs (continuation lines joined, comments dropped). */
function instructions(text: string): [string, string][] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return [keyword!.toUpperCase(), rest.join(' ')];
    });
}

describe('compose.yaml', () => {
  it('runs two API replicas and one worker from the image, with PostgreSQL 16 and Redis 7', () => {
    const commands = stampede.map(([, service]) => service.command?.[0]).sort();
    expect(commands).toEqual(['serve', 'serve', 'worker']);
    expect(services.postgres?.image).toMatch(/^postgres:16/);
    expect(services.redis?.image).toMatch(/^redis:7/);
  });

  it('sets only environment variables the config schema knows, and they load', () => {
    for (const [name, service] of stampede) {
      const environment = service.environment ?? {};
      for (const variable of Object.keys(environment)) {
        expect(known.has(variable), `${name} sets unknown variable ${variable}`).toBe(true);
      }
      // The values themselves pass the schema (JWT_SECRET comes from the operator's shell).
      const values = { ...environment, JWT_SECRET: 'x'.repeat(48) };
      expect(() => loadConfig(values)).not.toThrow();
    }
  });

  it('points DATABASE_URL and REDIS_URL at services that exist', () => {
    for (const [, service] of stampede) {
      const { DATABASE_URL, REDIS_URL } = service.environment ?? {};
      expect(services[new URL(DATABASE_URL!).hostname]).toBeDefined();
      expect(services[new URL(REDIS_URL!).hostname]).toBeDefined();
      expect(new URL(DATABASE_URL!).port).toBe('5432');
    }
  });

  it('keeps every Redis write on disk before it is acknowledged', () => {
    const command = services.redis?.command?.join(' ') ?? '';
    expect(command).toMatch(/--appendonly yes/);
    expect(command).toMatch(/--appendfsync always/);
  });

  it('has Prometheus scrape every API replica on the port it listens on', () => {
    const prometheus = parse(read('ops/prometheus/prometheus.yml')) as {
      scrape_configs: { metrics_path?: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = prometheus.scrape_configs.flatMap((job) => job.static_configs.flatMap((c) => c.targets));
    const replicas = stampede.filter(([, service]) => service.command?.[0] === 'serve');
    expect(targets.sort()).toEqual(
      replicas.map(([name, service]) => `${name}:${service.environment?.PORT ?? loadConfig({}).port}`).sort(),
    );
    expect(prometheus.scrape_configs[0]?.metrics_path).toBe('/metrics');
    for (const volume of services.prometheus?.volumes ?? []) expect(mounted(volume), volume).toBe(true);
  });

  it('provisions Grafana with the Prometheus data source and the Stampede dashboard', () => {
    const volumes = services.grafana?.volumes ?? [];
    for (const volume of volumes) expect(mounted(volume), volume).toBe(true);
    const dashboardMount = volumes.find((volume) => volume.startsWith('./ops/grafana/stampede.json:'));
    expect(dashboardMount).toBeDefined();
    const provider = parse(read('ops/grafana/provisioning/dashboards/stampede.yaml')) as {
      providers: { options: { path: string } }[];
    };
    expect(dashboardMount!.split(':')[1]!.startsWith(provider.providers[0]!.options.path)).toBe(true);
    const datasources = parse(read('ops/grafana/provisioning/datasources/prometheus.yaml')) as {
      datasources: { type: string; url: string }[];
    };
    expect(datasources.datasources[0]?.type).toBe('prometheus');
    expect(services[new URL(datasources.datasources[0]!.url).hostname]).toBeDefined();
    expect(JSON.parse(read('ops/grafana/stampede.json')).uid).toBe('stampede');
  });
});

describe('Dockerfile', () => {
  const steps = instructions(read('Dockerfile'));
  const stages = steps.filter(([keyword]) => keyword === 'FROM');
  const last = steps.slice(steps.lastIndexOf(stages.at(-1)!));

  it('builds in one stage and runs Node 20 slim in another, as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const [, image] of stages) expect(image).toMatch(/^node:20[-\w.]*slim/);
    const user = last.filter(([keyword]) => keyword === 'USER').at(-1)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
  });

  it('checks health on /readyz and runs `stampede serve` by default', () => {
    expect(last.find(([keyword]) => keyword === 'HEALTHCHECK')?.[1]).toMatch(/\/readyz/);
    expect(last.find(([keyword]) => keyword === 'ENTRYPOINT')?.[1]).toContain('dist/main.js');
    expect(JSON.parse(last.find(([keyword]) => keyword === 'CMD')![1])).toEqual(['serve']);
  });

  it('sets only environment variables the config schema knows (besides NODE_ENV)', () => {
    const names = last
      .filter(([keyword]) => keyword === 'ENV')
      .flatMap(([, args]) => [...args.matchAll(/(\w+)=/g)].map((match) => match[1]!));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) if (name !== 'NODE_ENV') expect(known.has(name), name).toBe(true);
  });

  it('copies only paths that exist, and .dockerignore keeps secrets and local data out', () => {
    const copies = steps.filter(([keyword, args]) => keyword === 'COPY' && !args.includes('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const [, args] of copies) {
      for (const path of args.split(/\s+/).slice(0, -1))
        expect(existsSync(new URL(path, root)), path).toBe(true);
    }
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', '.env', 'data', '.git']) expect(ignored).toContain(entry);
  });
});
