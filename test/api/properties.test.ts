/**
 * Property-based: for every /v1 route of the OpenAPI document, requests generated from the
 * route's own schemas (parameters, query, headers and body), bent toward the edges — control
 * characters, lone surrogates, impossible instants and cursors, huge and fractional numbers,
 * wrong types, unknown fields — never get a 5xx; every error is application/problem+json; and a
 * rejected request changes no row of campaigns, coupons, redemptions or users (compared by a
 * digest of every row, not only counts). fast-check (https://fast-check.dev) shrinks a failure
 * to the smallest request that shows it.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../../src/db/client.js';
import { bearer, createCampaign, type TestApp, useTestApp } from '../helpers/app.js';
import { ENGINES } from '../support/database.js';

/** Requests per route and engine: enough to reach every field's edges, bounded for the run time. */
const RUNS_PER_ROUTE = 60;

interface JsonSchema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  required?: string[];
  minimum?: number;
  maximum?: number;
}

interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** OpenAPI path, e.g. `/v1/campaigns/{id}`. */
  path: string;
  parameters: { name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema: JsonSchema }[];
  body: JsonSchema | undefined;
}

/** A cursor in the shape the API writes, around a timestamp PostgreSQL could never print. */
const forgedCursor = (at: string) => Buffer.from(JSON.stringify([at, randomUUID()])).toString('base64url');

/** Edge strings by kind; the kinds that once gave 500s weigh most. */
const CONTROL_STRINGS = ['x\u0000y', '\u0000', 'a\u001fb', '\u0085', 'tab\there', '\ud800', 'x\udfffy'];
const INSTANT_STRINGS = [
  '2030-06-30T23:59:60Z',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '2030-13-01T00:00:00Z',
  '2030-02-30T00:00:00Z',
  '2030-01-01T24:00:00Z',
  '9999-12-31T23:00:00-05:00',
  '9999-12-31T23:59:59.999Z',
  '0100-01-01T00:00:00Z',
  '9999-99-99 99:99:99+99',
  forgedCursor('9999-99-99 99:99:99+99'),
  forgedCursor('2026-13-01 00:00:00+00'),
  forgedCursor('0000-01-01 00:00:00+00'),
];
const OTHER_STRINGS = [
  '',
  ' ',
  '🙂',
  '=1+1',
  "' OR 1=1 --",
  '%00',
  'WELCOME10',
  'a@b.co',
  'x'.repeat(300),
  'not-a-uuid',
  '00000000-0000-0000-0000-000000000000',
];
const EDGE_NUMBERS = [0, -1, 1.5, -0.5, 100, 101, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, 1e308];
/** Values of another type than the field's. */
const WRONG_TYPES = fc.constantFrom<unknown>(null, true, 5, '5', [], {}, ['a']);

/**
 * The operations of the OpenAPI document under /v1, with their request schemas. Server-sent event
 * streams are left out: a valid request never ends (the live view's refusals are tested in
 * test/live/live.test.ts).
 */
function operationsOf(document: { paths: Record<string, Record<string, unknown>> }): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    if (!path.startsWith('/v1/')) continue;
    for (const [method, raw] of Object.entries(methods)) {
      const operation = raw as {
        parameters?: Operation['parameters'];
        requestBody?: { content?: Record<string, { schema: JsonSchema }> };
        responses?: Record<string, { content?: Record<string, unknown> }>;
      };
      if (operation.responses?.['200']?.content?.['text/event-stream']) continue;
      operations.push({
        method: method.toUpperCase() as Operation['method'],
        path,
        parameters: operation.parameters ?? [],
        body: operation.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return operations;
}

/** The first branch of a union that is not `null`, or the schema itself. */
function mainBranch(schema: JsonSchema): JsonSchema {
  const branches = schema.anyOf ?? schema.oneOf;
  return branches ? mainBranch(branches.find((branch) => branch.type !== 'null') ?? branches[0]!) : schema;
}

/** A valid value of `schema` (required properties only): the base a request mutates one field of. */
function validValue(schema: JsonSchema, ids: string[]): unknown {
  const main = mainBranch(schema);
  if (main.const !== undefined) return main.const;
  if (main.enum) return main.enum[0];
  switch (main.type) {
    case 'string':
      if (main.format === 'uuid') return ids[0];
      if (main.format === 'date-time') return '2030-01-01T00:00:00Z';
      if (main.format === 'email') return 'someone@example.com';
      return 'Abcd1234';
    case 'integer':
    case 'number':
      return Math.min(Math.max(1, main.minimum ?? 1), main.maximum ?? 1);
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return Object.fromEntries(
        (main.required ?? []).map((name) => [name, validValue(main.properties?.[name] ?? {}, ids)]),
      );
    default:
      return null;
  }
}

/** Values for a field of `schema` at its edges, or of another type. */
function edgeValue(schema: JsonSchema, ids: string[]): fc.Arbitrary<unknown> {
  const main = mainBranch(schema);
  const wrong = { weight: 1, arbitrary: WRONG_TYPES };
  if (main.type === 'integer' || main.type === 'number') {
    return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...EDGE_NUMBERS) }, wrong);
  }
  if (main.type === 'object' || main.type === 'array') {
    return fc.oneof({ weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) }, wrong);
  }
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...CONTROL_STRINGS) },
    { weight: main.format === 'date-time' ? 6 : 2, arbitrary: fc.constantFrom(...INSTANT_STRINGS) },
    { weight: 2, arbitrary: fc.constantFrom(...OTHER_STRINGS) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.constantFrom(...ids) },
    wrong,
  );
}

/** A field a request may carry: a parameter, or a property (nested ones too) of the body. */
interface Target {
  part: 'path' | 'query' | 'header' | 'body';
  /** Parameter name, or property path in the body. */
  path: string[];
  schema: JsonSchema;
}

function bodyTargets(schema: JsonSchema, prefix: string[]): Target[] {
  const targets: Target[] = [];
  for (const branch of schema.anyOf ?? schema.oneOf ?? [schema]) {
    for (const [name, property] of Object.entries(branch.properties ?? {})) {
      targets.push({ part: 'body', path: [...prefix, name], schema: property });
      if (prefix.length < 2) targets.push(...bodyTargets(mainBranch(property), [...prefix, name]));
    }
  }
  return targets;
}

function targetsOf(operation: Operation): Target[] {
  return [
    ...operation.parameters.map((p) => ({ part: p.in, path: [p.name], schema: p.schema }) as Target),
    ...(operation.body
      ? [...bodyTargets(operation.body, []), { part: 'body', path: ['colour'], schema: {} } as Target]
      : []),
  ];
}

/** `value` with `path` set to `field` (objects on the way created or replaced). */
function withField(value: unknown, path: string[], field: unknown): unknown {
  if (path.length === 0) return field;
  const object = value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
  const [head, ...rest] = path as [string, ...string[]];
  return { ...object, [head]: withField((object as Record<string, unknown>)[head], rest, field) };
}

/** A parameter value as it travels in a URL or header. */
const onTheWire = (value: unknown) => (typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));

/** Every UTF-8 byte of `text` but the unreserved ones percent-encoded (a lone surrogate becomes U+FFFD). */
const percentEncoded = (text: string) =>
  [...Buffer.from(text, 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, '0')}`,
    )
    .join('');

const PRINCIPALS = ['admin', 'service', 'user', 'nobody'] as const;

/**
 * Requests for `operation`: a valid request (path ids that exist) with one field, chosen by
 * fast-check, set to an edge value — the shape that reaches past validation into the database
 * when the schema lets the value through — under some principal; now and then no field changed.
 */
function requestsFor(operation: Operation, t: TestApp, ids: string[]): fc.Arbitrary<InjectOptions> {
  const targets = targetsOf(operation);
  const mutation =
    targets.length === 0
      ? fc.constant(undefined)
      : fc.option(
          fc
            .constantFrom(...targets)
            .chain((target) => edgeValue(target.schema, ids).map((value) => ({ target, value }))),
          { nil: undefined, freq: 8 },
        );
  return fc
    .tuple(mutation, fc.constantFrom(...PRINCIPALS), fc.constantFrom(...ids))
    .map(([change, who, id]) => {
      const values = new Map<string, unknown>();
      for (const parameter of operation.parameters) {
        if (parameter.in === 'path') values.set(parameter.name, id);
        else if (parameter.required) values.set(parameter.name, validValue(parameter.schema, ids));
      }
      let body = operation.body ? validValue(operation.body, ids) : undefined;
      if (change?.target.part === 'body') body = withField(body, change.target.path, change.value);
      else if (change) values.set(change.target.path[0]!, change.value);

      const headers: Record<string, string> = who === 'nobody' ? {} : bearer(tokenOf(t, who));
      let url = operation.path;
      const query = new URLSearchParams();
      for (const parameter of operation.parameters) {
        if (!values.has(parameter.name)) continue;
        const text = onTheWire(values.get(parameter.name));
        if (parameter.in === 'path') url = url.replace(`{${parameter.name}}`, percentEncoded(text));
        else if (parameter.in === 'query') query.append(parameter.name, text);
        // Header values cannot hold control characters at all: the HTTP layer refuses them.
        else if (/^[\t\x20-\x7e]*$/.test(text)) headers[parameter.name] = text;
      }
      const search = query.toString();
      return {
        method: operation.method,
        url: search ? `${url}?${search}` : url,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      } satisfies InjectOptions;
    });
}

/** The token of the user 'owner' of the engine being tested, set by its `beforeAll`. */
let ownerToken = '';

function tokenOf(t: TestApp, who: Exclude<(typeof PRINCIPALS)[number], 'nobody'>): string {
  if (who === 'admin') return t.adminToken;
  if (who === 'service') return t.serviceToken;
  return ownerToken;
}

/** One digest per table a rejected request must leave alone: any inserted, deleted or changed row shows. */
async function tableDigests(t: TestApp): Promise<Record<string, string>> {
  const [row] = await queryRows<Record<string, string>>(
    t.database.db,
    sql`SELECT (SELECT coalesce(md5(string_agg(c::text, ',' ORDER BY c.id)), '') FROM campaigns c) AS campaigns,
               (SELECT coalesce(md5(string_agg(c::text, ',' ORDER BY c.id)), '') FROM coupons c) AS coupons,
               (SELECT coalesce(md5(string_agg(r::text, ',' ORDER BY r.id)), '') FROM redemptions r) AS redemptions,
               (SELECT coalesce(md5(string_agg(u::text, ',' ORDER BY u.id)), '') FROM users u) AS users`,
  );
  return row!;
}

describe.each(ENGINES)('generated bad and edge requests on %s', (engine) => {
  const t = useTestApp(engine);
  /** Ids that exist: an active campaign, a draft, a coupon; the generators mix them with random ones. */
  const ids: string[] = [];

  beforeAll(async () => {
    const active = await createCampaign(t, { totalQuantity: 5 });
    const draft = await createCampaign(t, { status: 'draft' });
    ownerToken = await t.userToken('owner');
    const claim = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${active.id}/claims`,
      headers: bearer(ownerToken),
    });
    await t.app.inject({
      method: 'PUT',
      url: `/v1/campaigns/${active.id}/shared-code`,
      headers: bearer(t.adminToken),
      payload: { code: 'WELCOME10' },
    });
    ids.push(active.id, draft.id, claim.json().coupon.id);
  });

  it('covers the routes of the OpenAPI document', () => {
    const paths = operationsOf(t.app.swagger() as never).map((o) => `${o.method} ${o.path}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        'POST /v1/campaigns',
        'GET /v1/campaigns',
        'PATCH /v1/campaigns/{id}',
        'POST /v1/campaigns/{id}/claims',
        'GET /v1/coupons',
        'GET /v1/me/coupons',
        'POST /v1/redemptions',
        'POST /v1/redemptions/validate',
        'GET /v1/archive/coupons',
        'POST /v1/campaigns/{id}/codes',
      ]),
    );
    // A stream that never ends is not one request of a property run.
    expect(paths).not.toContain('GET /v1/campaigns/{id}/live');
  });

  it('never answers 5xx, always answers errors as problem+json, and a rejected request changes no row', async () => {
    for (const operation of operationsOf(t.app.swagger() as never)) {
      await fc.assert(
        fc.asyncProperty(requestsFor(operation, t, ids), async (request) => {
          const before = await tableDigests(t);
          const response = await t.app.inject(request);
          expect(response.statusCode, `${request.method} ${request.url}: ${response.body}`).toBeLessThan(500);
          if (response.statusCode >= 400) {
            expect(response.headers['content-type']).toContain('application/problem+json');
            expect(response.json().status).toBe(response.statusCode);
            expect(await tableDigests(t)).toEqual(before);
          }
        }),
        { numRuns: RUNS_PER_ROUTE },
      );
    }
    // About 1,200 requests per engine: 5-10 s on an idle machine, several times that on a busy one.
  }, 180_000);
});
