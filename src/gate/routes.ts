/**
 * Dead letters over HTTP, the API face of `stampede dead-letters` (src/cli/dead-letters.ts):
 * `GET /v1/dead-letters` (admin, service) lists them newest first, optionally of one campaign,
 * with each one's stable reason code (src/issuance/claims.ts `DEAD_LETTER_REASONS`) and, to
 * admins only, the stored error text; `POST /v1/dead-letters/{id}/retry` (admin) puts one back
 * into its campaign's stream and deletes it (src/gate/dead-letters.ts `retryDeadLetters`).
 *
 * Listing reads PostgreSQL only, so it answers on every engine and strategy (empty where no
 * redis-gate ever ran). Retrying needs this process's Redis and the redis-gate strategy, whose
 * worker will persist the requeued claim; without them it is `gate-not-configured` (409).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { Db } from '../db/client.js';
import { decodeCursor, encodeCursor } from '../db/keyset.js';
import { DomainError } from '../errors.js';
import { requireRole } from '../http/auth.js';
import { DateTime, IdParams, Nullable, PageQuery, ProblemResponses, Uuid } from '../http/schemas.js';
import { DEAD_LETTER_REASONS, deadLetterReason } from '../issuance/claims.js';
import type { RedisConnection } from '../redis/connection.js';
import {
  type DeadLetter,
  findDeadLetter,
  isRetryable,
  pageDeadLetters,
  retryDeadLetters,
} from './dead-letters.js';
import { GateLoader } from './loader.js';

const DeadLettersQuery = Type.Object(
  { ...PageQuery, campaignId: Type.Optional({ ...Uuid, description: "only this campaign's" }) },
  { additionalProperties: false },
);

export const DeadLetterSchema = Type.Object(
  {
    id: Uuid,
    claimId: Nullable(Type.String({ description: 'null for an entry too malformed to name its claim' })),
    campaignId: Uuid,
    userId: Nullable(Type.String()),
    reason: Type.String({ description: `why it was not persisted: ${DEAD_LETTER_REASONS.join(' | ')}` }),
    error: Nullable(
      Type.String({ description: 'the stored error text; null unless the caller is an admin' }),
    ),
    deliveries: Type.Integer({ description: 'times the worker was handed the entry' }),
    retryable: Type.Boolean({ description: 'whether the entry holds a whole claim a retry can queue again' }),
    admittedAt: Nullable(DateTime),
    createdAt: DateTime,
  },
  { $id: 'DeadLetter' },
);

const DeadLetterPageSchema = Type.Object({
  items: Type.Array(DeadLetterSchema),
  nextCursor: Nullable(Type.String()),
});

const RetryResultSchema = Type.Object({
  id: Uuid,
  claimId: Type.String(),
  status: Type.Literal('requeued', { description: 'queued again; its row is deleted' }),
});

function deadLetterJson(letter: DeadLetter, showError: boolean): Static<typeof DeadLetterSchema> {
  return {
    id: letter.id,
    claimId: letter.claimId,
    campaignId: letter.campaignId,
    userId: letter.userId,
    reason: deadLetterReason(letter.error),
    error: showError ? letter.error : null,
    deliveries: letter.deliveries,
    retryable: isRetryable(letter),
    admittedAt: letter.admittedAt?.toISOString() ?? null,
    createdAt: letter.createdAt.toISOString(),
  };
}

export interface DeadLetterRouteOptions {
  db: Db;
  /** The redis-gate of this process: its Redis and REDIS_LOCK_WAIT_MS; undefined without one. */
  gate: { redis: RedisConnection; loadWaitMs: number } | undefined;
}

export async function deadLetterRoutes(
  app: FastifyInstance,
  { db, gate }: DeadLetterRouteOptions,
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const loader = gate && new GateLoader(db, gate.redis, gate.loadWaitMs);

  api.get(
    '/v1/dead-letters',
    {
      onRequest: requireRole('admin', 'service'),
      schema: {
        tags: ['dead letters'],
        summary: 'Claims the redis-gate worker could not persist, newest first (keyset pagination)',
        security: [{ bearer: [] }],
        querystring: DeadLettersQuery,
        response: { 200: DeadLetterPageSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const { campaignId, limit, cursor } = request.query;
      const page = await pageDeadLetters(db, { campaignId, limit, after: decodeCursor(cursor) });
      const showError = request.user.role === 'admin';
      return {
        items: page.items.map((letter) => deadLetterJson(letter, showError)),
        nextCursor: page.next && encodeCursor(page.next),
      };
    },
  );

  api.post(
    '/v1/dead-letters/:id/retry',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['dead letters'],
        summary: "Put a dead letter's claim back into its campaign stream, then delete the dead letter",
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: RetryResultSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const letter = await findDeadLetter(db, request.params.id);
      if (!letter) throw new DomainError('not-found', `dead letter ${request.params.id} does not exist`);
      if (!gate || !loader) throw new DomainError('gate-not-configured');
      if (!isRetryable(letter)) {
        throw new DomainError(
          'not-retryable',
          'the entry did not hold a whole claim: nothing to queue again',
        );
      }
      const result = await retryDeadLetters(db, gate.redis, loader, [letter]);
      if (result.requeued.length === 0) {
        // The stream vanished between loading the gate and the requeue (a gate reset): nothing written.
        throw new DomainError('service-unavailable', 'the campaign stream was not there', {
          retryAfterSeconds: 1,
        });
      }
      return { id: letter.id, claimId: letter.claimId, status: 'requeued' as const };
    },
  );
}
