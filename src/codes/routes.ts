/**
 * Code routes (admin): generate codes (`POST /v1/campaigns/{id}/codes`: 201 with the count when
 * small, else 202 with a job to follow at `GET /v1/jobs/{id}`), set a campaign's shared code
 * (`PUT /v1/campaigns/{id}/shared-code`), export codes as CSV (`GET /v1/campaigns/{id}/codes.csv`,
 * streamed in keyset batches, never all in memory), and read a job.
 */
import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { asDate, asDateOrNull, type Db } from '../db/client.js';
import { DomainError } from '../errors.js';
import { requireRole } from '../http/auth.js';
import { DateTime, IdParams, Nullable, ProblemResponses, SafeString, Uuid } from '../http/schemas.js';
import type { JobRunner } from '../jobs/runner.js';
import type { Job } from '../jobs/store.js';
import { findJob } from '../jobs/store.js';
import { csvCell } from './csv.js';
import { codeOptions } from './generator.js';
import { startCodeJob } from './jobs.js';
import { codesPage, remainingStock } from './repository.js';
import {
  checkGenerateRequest,
  generateCampaignCodes,
  MAX_CODES_PER_REQUEST,
  SYNC_CODES_LIMIT,
} from './service.js';
import { SHARED_CODE_PATTERN, setSharedCode } from './shared.js';

/** The body of `POST /v1/campaigns/{id}/codes` (the CLI's `codes generate` options obey it too). */
export const GenerateCodesBody = Type.Object(
  {
    // Range checked by the use case, so that the message and field match the CLI's.
    count: Type.Integer({ description: `codes to generate, 1..${MAX_CODES_PER_REQUEST}` }),
    length: Type.Optional(
      Type.Integer({ minimum: 4, maximum: 64, description: 'random characters, default 16' }),
    ),
    charset: Type.Optional(
      SafeString({
        maxLength: 64,
        description: 'distinct characters of [0-9A-Za-z_-], at least 10; default digits and letters',
      }),
    ),
    prefix: Type.Optional(SafeString({ maxLength: 32, description: 'put before the random part' })),
  },
  { additionalProperties: false },
);

const JobSchema = Type.Object(
  {
    id: Uuid,
    kind: Type.String(),
    status: Type.String({ description: 'running | succeeded | failed' }),
    total: Type.Integer(),
    done: Type.Integer(),
    error: Nullable(Type.String()),
    createdAt: DateTime,
    updatedAt: DateTime,
    finishedAt: Nullable(DateTime),
  },
  { $id: 'Job' },
);

const GeneratedSchema = Type.Object({ campaignId: Uuid, generated: Type.Integer() });

const SharedCodeBody = Type.Object(
  {
    code: Type.String({
      pattern: SHARED_CODE_PATTERN,
      description: '8–64 characters of [0-9A-Za-z_-], not starting with "-"',
    }),
  },
  { additionalProperties: false },
);

function jobJson(job: Job) {
  return {
    id: job.id,
    kind: job.kind,
    status: job.status,
    total: job.total,
    done: job.done,
    error: job.error,
    createdAt: job.createdAt.toISOString(),
    updatedAt: job.updatedAt.toISOString(),
    finishedAt: job.finishedAt?.toISOString() ?? null,
  };
}

/** Rows per query of the CSV export. */
const EXPORT_BATCH = 5_000;

/** The CSV lines of a campaign's codes, newest first, one keyset query per batch. */
async function* codesCsv(db: Db, campaignId: string): AsyncGenerator<string> {
  yield 'code,status,issued_at,expires_at,redeemed_at\n';
  let after: { issuedAt: string; id: string } | undefined;
  for (;;) {
    const rows = await codesPage(db, campaignId, EXPORT_BATCH, after);
    if (rows.length === 0) return;
    // Codes are [0-9A-Za-z_-], but one may start with "-" (generated before such codes were
    // refused): every code cell goes through csvCell.
    yield rows
      .map((row) => {
        const status =
          row.status === 'issued' && row.expires_at && asDate(row.expires_at) <= new Date()
            ? 'expired'
            : row.status;
        const expires = asDateOrNull(row.expires_at)?.toISOString() ?? '';
        const redeemed = asDateOrNull(row.redeemed_at)?.toISOString() ?? '';
        return `${csvCell(row.code)},${status},${asDate(row.issued_at).toISOString()},${expires},${redeemed}\n`;
      })
      .join('');
    const last = rows[rows.length - 1]!;
    after = { issuedAt: String(last.issued_at), id: last.id };
    if (rows.length < EXPORT_BATCH) return;
  }
}

export async function codeRoutes(
  app: FastifyInstance,
  { db, jobs }: { db: Db; jobs: JobRunner },
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    '/v1/campaigns/:id/codes',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['codes'],
        summary: 'Generate unique codes (a job when above 10,000)',
        security: [{ bearer: [] }],
        params: IdParams,
        body: GenerateCodesBody,
        response: { 201: GeneratedSchema, 202: JobSchema, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const generate = {
        campaignId: request.params.id,
        count: request.body.count,
        options: codeOptions(request.body),
      };
      await checkGenerateRequest(db, generate);
      if (generate.count <= SYNC_CODES_LIMIT) {
        const generated = await generateCampaignCodes(db, generate);
        return reply.code(201).send({ campaignId: generate.campaignId, generated });
      }
      const job = await startCodeJob(db, jobs, generate);
      return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(jobJson(job));
    },
  );

  api.put(
    '/v1/campaigns/:id/shared-code',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['codes'],
        summary: 'Set the shared code: any user may redeem it once (per-user limit), up to the stock',
        security: [{ bearer: [] }],
        params: IdParams,
        body: SharedCodeBody,
        response: { 200: Type.Object({ campaignId: Uuid, code: Type.String() }), ...ProblemResponses },
      },
    },
    async (request) => {
      await setSharedCode(db, request.params.id, request.body.code);
      return { campaignId: request.params.id, code: request.body.code };
    },
  );

  api.get(
    '/v1/campaigns/:id/codes.csv',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['codes'],
        summary: 'Export the generated codes of a campaign as CSV (streamed)',
        security: [{ bearer: [] }],
        params: IdParams,
        produces: ['text/csv'],
        response: { 200: Type.String({ description: 'text/csv' }), ...ProblemResponses },
      },
    },
    async (request, reply) => {
      if ((await remainingStock(db, request.params.id)) === undefined) {
        throw new DomainError('not-found', `campaign ${request.params.id} does not exist`);
      }
      return (
        reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="codes-${request.params.id}.csv"`)
          // A stream is sent as is (the 200 schema only documents it), hence the cast.
          .send(Readable.from(codesCsv(db, request.params.id)) as unknown as string)
      );
    },
  );

  api.get(
    '/v1/jobs/:id',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['jobs'],
        summary: 'Progress of a job (code generation, archival)',
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: JobSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const job = await findJob(db, request.params.id);
      if (!job) throw new DomainError('not-found', `job ${request.params.id} does not exist`);
      return jobJson(job);
    },
  );
}
