/**
 * Code generation through the API on PostgreSQL and PGlite: format and uniqueness at scale, the
 * job path with progress, the CSV export, shared codes, and bad input that writes nothing.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { codeOptions } from '../../src/codes/generator.js';
import { resumeCodeJobs } from '../../src/codes/jobs.js';
import { generateCampaignCodes } from '../../src/codes/service.js';
import { queryRows } from '../../src/db/client.js';
import { insertJob } from '../../src/jobs/store.js';
import { bearer, createCampaign, problemOf, rowCounts, useTestApp } from '../helpers/app.js';
import { ENGINES } from '../support/database.js';

describe.each(ENGINES)('codes on %s', (engine) => {
  const t = useTestApp(engine);

  const generate = (campaignId: string, payload: Record<string, unknown>) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaignId}/codes`,
      headers: bearer(t.adminToken),
      payload,
    });

  it('generates 100,000 unique 16-character codes as a job with progress', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 200_000 });
    const started = await generate(campaign.id, { count: 100_000 });
    expect(started.statusCode).toBe(202);
    const job = started.json() as { id: string; status: string; total: number };
    expect(job).toMatchObject({ status: 'running', total: 100_000 });
    expect(started.headers.location).toBe(`/v1/jobs/${job.id}`);
    await t.app.services.jobs.idle();

    const finished = await t.app.inject({ url: `/v1/jobs/${job.id}`, headers: bearer(t.adminToken) });
    expect(finished.json()).toMatchObject({
      status: 'succeeded',
      total: 100_000,
      done: 100_000,
      error: null,
    });
    const [stats] = await queryRows<{ n: number; distinct_codes: number; bad: number; issued: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n, count(DISTINCT code)::int AS distinct_codes,
                 count(*) FILTER (WHERE code !~ '^[0-9A-Za-z]{16}$')::int AS bad,
                 (SELECT issued_count FROM campaigns WHERE id = ${campaign.id}) AS issued
          FROM coupons WHERE campaign_id = ${campaign.id}`,
    );
    expect(stats).toEqual({ n: 100_000, distinct_codes: 100_000, bad: 0, issued: 100_000 });
  });

  it('resumes a code job whose process died and ends with exactly the count asked for', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 30_000 });
    const request = { campaignId: campaign.id, count: 25_000, options: codeOptions({}) };
    const job = await insertJob(t.database.db, {
      kind: 'generate-codes',
      params: { campaignId: campaign.id, options: request.options },
      total: request.count,
    });
    // The "dead" process committed 12,000 codes (with the job's progress), then vanished.
    await generateCampaignCodes(t.database.db, { ...request, count: 12_000 }, { jobId: job!.id });
    await t.database.db.execute(
      sql`UPDATE jobs SET updated_at = now() - interval '2 minutes' WHERE id = ${job!.id}`,
    );

    const resumed = await resumeCodeJobs(t.database.db, t.app.services.jobs);
    expect(resumed.map((r) => [r.id, r.done])).toEqual([[job!.id, 12_000]]);
    await t.app.services.jobs.idle();
    const finished = await t.app.inject({ url: `/v1/jobs/${job!.id}`, headers: bearer(t.adminToken) });
    expect(finished.json()).toMatchObject({ status: 'succeeded', done: 25_000 });
    const [stored] = await queryRows<{ n: number; issued: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n, (SELECT issued_count FROM campaigns WHERE id = ${campaign.id}) AS issued
          FROM coupons WHERE campaign_id = ${campaign.id}`,
    );
    expect(stored).toEqual({ n: 25_000, issued: 25_000 });
    expect(await resumeCodeJobs(t.database.db, t.app.services.jobs)).toEqual([]);
  });

  it('generates small counts synchronously with the prefix and charset asked for', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 1000 });
    const response = await generate(campaign.id, {
      count: 300,
      length: 10,
      charset: 'ABCDEFGHJKLMNPQR',
      prefix: 'VIP-',
    });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ campaignId: campaign.id, generated: 300 });
    const rows = await queryRows<{ code: string }>(
      t.database.db,
      sql`SELECT code FROM coupons WHERE campaign_id = ${campaign.id}`,
    );
    expect(rows).toHaveLength(300);
    for (const { code } of rows) expect(code).toMatch(/^VIP-[A-HJ-NP-R]{10}$/);
  });

  it('streams every code of a campaign as CSV', async () => {
    const campaign = await createCampaign(t, { totalQuantity: 20_000 });
    expect((await generate(campaign.id, { count: 7_000 })).statusCode).toBe(201);
    const response = await t.app.inject({
      url: `/v1/campaigns/${campaign.id}/codes.csv`,
      headers: bearer(t.adminToken),
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    const lines = response.body.trim().split('\n');
    expect(lines[0]).toBe('code,status,issued_at,expires_at,redeemed_at');
    const codes = new Set(lines.slice(1).map((line) => line.split(',')[0]));
    expect(codes.size).toBe(7_000);
    const [stored] = await queryRows<{ n: number }>(
      t.database.db,
      sql`SELECT count(*)::int AS n FROM coupons WHERE campaign_id = ${campaign.id} AND code = ANY(${`{${[...codes].join(',')}}`}::text[])`,
    );
    expect(stored!.n).toBe(7_000);
  });

  it.each([
    ['count 0', { count: 0 }, 'body/count'],
    ['a count above the limit', { count: 10_000_001 }, 'body/count'],
    ['a count above the remaining stock', { count: 101 }, 'body/count'],
    ['a charset with a repeated character', { count: 10, charset: '0123456789A0' }, 'body/charset'],
    ['a charset that is too short', { count: 10, charset: 'ABC' }, 'body/charset'],
    ['a charset with punctuation', { count: 10, charset: '0123456789,;' }, 'body/charset'],
    ['a length too short for the count', { count: 100, length: 4, charset: '0123456789' }, 'body/length'],
    ['an unknown field', { count: 10, colour: 'red' }, 'body'],
  ])('rejects %s with a problem naming the field and writes nothing', async (_label, payload, field) => {
    const campaign = await createCampaign(t, { totalQuantity: 100 });
    const before = await rowCounts(t.database);
    const problem = problemOf(await generate(campaign.id, payload));
    expect(problem.status).toBe(400);
    expect(problem.contentType).toMatch(/^application\/problem\+json/);
    expect(problem.body.errors?.map((e) => e.field)).toContain(field);
    expect(await rowCounts(t.database)).toEqual(before);
  });

  it('answers 404 for codes of an unknown or deleted campaign and writes nothing', async () => {
    const campaign = await createCampaign(t);
    await t.app.inject({
      method: 'DELETE',
      url: `/v1/campaigns/${campaign.id}`,
      headers: bearer(t.adminToken),
    });
    const before = await rowCounts(t.database);
    expect((await generate(campaign.id, { count: 10 })).statusCode).toBe(404);
    expect((await generate('00000000-0000-4000-8000-000000000000', { count: 10 })).statusCode).toBe(404);
    const csv = await t.app.inject({
      url: `/v1/campaigns/${campaign.id}/codes.csv`,
      headers: bearer(t.adminToken),
    });
    expect(problemOf(csv).status).toBe(404);
    expect(await rowCounts(t.database)).toEqual(before);
  });

  it('refuses code generation to a non-admin', async () => {
    const campaign = await createCampaign(t);
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaign.id}/codes`,
      headers: bearer(await t.userToken('someone')),
      payload: { count: 1 },
    });
    expect(problemOf(response).status).toBe(403);
  });

  it('gives a shared code to one campaign only and never reuses a generated code', async () => {
    const a = await createCampaign(t);
    const b = await createCampaign(t);
    const put = (id: string, code: string) =>
      t.app.inject({
        method: 'PUT',
        url: `/v1/campaigns/${id}/shared-code`,
        headers: bearer(t.adminToken),
        payload: { code },
      });
    expect((await put(a.id, `WELCOME-${engine}`)).statusCode).toBe(200);
    expect(problemOf(await put(b.id, `WELCOME-${engine}`)).body.code).toBe('code-taken');
    await generate(b.id, { count: 1 });
    const [generated] = await queryRows<{ code: string }>(
      t.database.db,
      sql`SELECT code FROM coupons WHERE campaign_id = ${b.id}`,
    );
    expect(problemOf(await put(a.id, generated!.code)).body.code).toBe('code-taken');
    expect(problemOf(await put(a.id, 'no spaces')).status).toBe(400);
  });
});
