/**
 * Redemption routes. `POST /v1/redemptions` redeems a coupon (by id, generated code or shared
 * code) for an order and returns the discount applied; `POST /v1/redemptions/validate` says
 * whether it would succeed and with which discount; `POST /v1/redemptions/{id}/rollback` undoes one (admin/service). Both accept
 * an `Idempotency-Key` header (see src/idempotency/store.ts for the semantics); a replayed
 * response carries `Idempotent-Replayed: true`.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import { decodeCursor } from '../db/keyset.js';
import { DomainError, invalidField } from '../errors.js';
import { actingUserId, requireRole } from '../http/auth.js';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../http/errors.js';
import { codeFailureThrottle, type FailureCounter, markCodeMiss } from '../http/failure-throttle.js';
import {
  DateTime,
  IdParams,
  Nullable,
  PageQuery,
  ProblemResponses,
  SafeString,
  UserId,
  Uuid,
} from '../http/schemas.js';
import { KEY_PATTERN, runIdempotent } from '../idempotency/store.js';
import { observeRedemption } from '../metrics/observe.js';
import type { Redemption } from './repository.js';
import { type RedemptionFound, searchRedemptions } from './search.js';
import { redeem, rollbackRedemption, validateRedemption } from './service.js';

/** Codes as sent by users: generated or shared, the alphabet of src/codes/generator.ts. */
const CodeString = Type.String({ minLength: 1, maxLength: 128, pattern: '^[0-9A-Za-z_-]+$' });

export const RedeemBody = Type.Object(
  {
    couponId: Type.Optional({ ...Uuid, description: 'the coupon to redeem; or give `code`' }),
    code: Type.Optional({ ...CodeString, description: 'a generated or shared code; or give `couponId`' }),
    orderId: SafeString({ minLength: 1, maxLength: 128 }),
    orderAmount: Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'minor currency units' }),
    userId: Type.Optional({ ...UserId, description: 'admin/service only: redeem for this user' }),
  },
  { additionalProperties: false },
);

export const ValidateBody = Type.Object(
  {
    couponId: RedeemBody.properties.couponId,
    code: RedeemBody.properties.code,
    orderAmount: RedeemBody.properties.orderAmount,
    userId: RedeemBody.properties.userId,
  },
  { additionalProperties: false },
);

export const ValidationSchema = Type.Object({
  valid: Type.Boolean(),
  discountAmount: Type.Optional(
    Type.Integer({ description: 'discount it would give, minor currency units' }),
  ),
  reason: Type.Optional(Type.String({ description: 'when not valid: the error code redeeming would give' })),
  detail: Type.Optional(Type.String()),
});

/** The coupon a body names: exactly one of `couponId` and `code`. */
function couponTarget(body: { couponId?: string; code?: string }): { couponId: string } | { code: string } {
  if (body.couponId !== undefined && body.code === undefined) return { couponId: body.couponId };
  if (body.code !== undefined && body.couponId === undefined) return { code: body.code };
  throw invalidField('body/couponId', 'give exactly one of couponId and code');
}

export const RedemptionSchema = Type.Object(
  {
    id: Uuid,
    couponId: Uuid,
    userId: Type.String(),
    orderId: Type.String(),
    orderAmount: Type.Integer(),
    discountAmount: Type.Integer({ description: 'discount applied, minor currency units' }),
    status: Type.String({ description: 'completed | rolled_back' }),
    createdAt: DateTime,
    rolledBackAt: Nullable(DateTime),
  },
  { $id: 'Redemption' },
);

export const RedemptionSearchQuery = Type.Object(
  {
    ...PageQuery,
    couponId: Type.Optional({ ...Uuid, description: "the coupon's redemptions" }),
    code: Type.Optional({ ...CodeString, description: "a generated code: its coupon's redemptions" }),
    orderId: Type.Optional({ ...SafeString({ minLength: 1, maxLength: 128 }), description: 'the order' }),
  },
  { additionalProperties: false },
);

export const RedemptionFoundSchema = Type.Object(
  {
    ...RedemptionSchema.properties,
    couponCode: Nullable(Type.String({ description: 'the generated code of the coupon, if any' })),
    campaignId: Uuid,
    campaignName: Type.String(),
  },
  { $id: 'RedemptionFound' },
);

export const RedemptionPageSchema = Type.Object({
  items: Type.Array(RedemptionFoundSchema),
  nextCursor: Nullable(Type.String()),
});

/** The look-up's filters: at least one of couponId, code and orderId, else 400 naming the three. */
function lookupFilters(query: Static<typeof RedemptionSearchQuery>) {
  const { couponId, code, orderId } = query;
  if (couponId === undefined && code === undefined && orderId === undefined) {
    const message = 'give couponId, code or orderId';
    throw new DomainError('validation-failed', `querystring: ${message}`, {
      errors: ['couponId', 'code', 'orderId'].map((name) => ({ field: `querystring/${name}`, message })),
    });
  }
  return { couponId, code, orderId };
}

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({ description: 'unique per operation, 1–255 visible ASCII chars' }),
  ),
});

export function redemptionJson(redemption: Redemption): Static<typeof RedemptionSchema> {
  return {
    id: redemption.id,
    couponId: redemption.couponId,
    userId: redemption.userId,
    orderId: redemption.orderId,
    orderAmount: redemption.orderAmount,
    discountAmount: redemption.discountAmount,
    status: redemption.status,
    createdAt: redemption.createdAt.toISOString(),
    rolledBackAt: redemption.rolledBackAt?.toISOString() ?? null,
  };
}

function redemptionFoundJson(found: RedemptionFound): Static<typeof RedemptionFoundSchema> {
  return {
    ...redemptionJson(found),
    couponCode: found.couponCode,
    campaignId: found.campaignId,
    campaignName: found.campaignName,
  };
}

/**
 * Runs `operation` under the request's Idempotency-Key when it has one, and sends the
 * (possibly replayed) response. Without a key the operation simply runs.
 */
async function sendIdempotent(
  db: Db,
  request: FastifyRequest,
  reply: FastifyReply,
  successStatus: number,
  operation: (db: Db) => Promise<unknown>,
): Promise<FastifyReply> {
  const key = request.headers['idempotency-key'];
  if (key === undefined) return reply.code(successStatus).send(await operation(db));
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw invalidField('headers/idempotency-key', 'must be 1 to 255 visible ASCII characters');
  }
  const result = await runIdempotent(
    db,
    {
      principal: request.user.sub,
      key,
      fingerprint: [request.method, request.routeOptions.url, request.params, request.body],
    },
    async (tx) => ({ status: successStatus, body: await operation(tx) }),
    (error: DomainError) => {
      const problem = toProblem(error, request);
      return { status: problem.status, body: problem };
    },
  );
  reply.header('idempotent-replayed', String(result.replayed));
  if (result.status >= 400) reply.type(PROBLEM_CONTENT_TYPE);
  return reply.code(result.status).send(result.body);
}

export interface RedemptionRouteOptions {
  db: Db;
  /** The throttle on guessing codes (src/http/failure-throttle.ts). */
  codeAttemptLimit: Config['codeAttemptLimit'];
  /** Where its failures are counted (Redis when configured, shared by every process). */
  failures: FailureCounter;
}

export async function redemptionRoutes(
  app: FastifyInstance,
  { db, codeAttemptLimit, failures }: RedemptionRouteOptions,
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  // Guessing codes: only codes that do not exist count (src/http/failure-throttle.ts).
  const throttle =
    codeAttemptLimit.max > 0 || codeAttemptLimit.ipMax > 0
      ? codeFailureThrottle(failures, codeAttemptLimit, (request) =>
          actingUserId(request.user, (request.body as { userId?: string }).userId),
        )
      : undefined;
  const guessing = throttle ? { preHandler: throttle.preHandler, onResponse: throttle.onResponse } : {};
  /** Marks the request when its code named nothing, then rethrows. */
  const noteMiss = (request: FastifyRequest, code: string | undefined) => (error: unknown) => {
    if (code !== undefined && error instanceof DomainError && error.code === 'not-found')
      markCodeMiss(request);
    throw error;
  };

  api.post(
    '/v1/redemptions',
    {
      onRequest: requireRole(),
      ...guessing,
      schema: {
        tags: ['redemptions'],
        summary: 'Redeem a coupon for an order',
        security: [{ bearer: [] }],
        headers: IdempotencyHeaders,
        body: RedeemBody,
        response: { 201: RedemptionSchema, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const { orderId, orderAmount } = request.body;
      const target = couponTarget(request.body);
      const userId = actingUserId(request.user, request.body.userId);
      return sendIdempotent(db, request, reply, 201, async (tx) =>
        redemptionJson(
          await observeRedemption('redeem', () =>
            redeem(tx, { ...target, userId, orderId, orderAmount }).catch(
              noteMiss(request, request.body.code),
            ),
          ),
        ),
      );
    },
  );

  api.get(
    '/v1/redemptions',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['redemptions'],
        summary: 'Look redemptions up by coupon, code or order, newest first (keyset pagination)',
        security: [{ bearer: [] }],
        querystring: RedemptionSearchQuery,
        response: { 200: RedemptionPageSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const filters = lookupFilters(request.query);
      const page = await searchRedemptions(db, filters, {
        limit: request.query.limit,
        after: decodeCursor(request.query.cursor),
      });
      return { items: page.items.map(redemptionFoundJson), nextCursor: page.nextCursor };
    },
  );

  api.post(
    '/v1/redemptions/validate',
    {
      onRequest: requireRole(),
      ...guessing,
      schema: {
        tags: ['redemptions'],
        summary: 'Check whether a coupon or code applies to an order, and its discount; changes nothing',
        security: [{ bearer: [] }],
        body: ValidateBody,
        response: { 200: ValidationSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const target = couponTarget(request.body);
      const userId = actingUserId(request.user, request.body.userId);
      const result = await validateRedemption(db, {
        ...target,
        userId,
        orderId: 'validation',
        orderAmount: request.body.orderAmount,
      });
      if (!result.valid && result.reason === 'not-found' && request.body.code !== undefined)
        markCodeMiss(request);
      return result;
    },
  );

  api.post(
    '/v1/redemptions/:id/rollback',
    {
      onRequest: requireRole('admin', 'service'),
      schema: {
        tags: ['redemptions'],
        summary: 'Roll back a redemption: the coupon can be redeemed again',
        security: [{ bearer: [] }],
        headers: IdempotencyHeaders,
        params: IdParams,
        response: { 200: RedemptionSchema, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      sendIdempotent(db, request, reply, 200, async (tx) =>
        redemptionJson(await observeRedemption('rollback', () => rollbackRedemption(tx, request.params.id))),
      ),
  );
}
