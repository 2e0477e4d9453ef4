/**
 * `POST /v1/campaigns/{id}/claims`: a user claims a coupon for itself, or an admin/service
 * principal claims for a shop's user with `{ "userId": "…" }`. 201 with the coupon when the
 * strategy issues synchronously; 202 with the place in line when it only admits (redis-gate).
 * Both carry `Location: /v1/claims/{claimId}`. The claim id, which becomes the coupon id, is a
 * time-ordered UUIDv7 (src/db/ids.ts).
 *
 * `GET /v1/claims/{id}`: pending | issued (with the coupon) | failed, for the claim's owner or an
 * admin/service principal (src/issuance/claims.ts).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { CouponSchema, couponJson } from '../coupons/schemas.js';
import type { Db } from '../db/client.js';
import { timeOrderedId } from '../db/ids.js';
import { DomainError } from '../errors.js';
import { actingUserId, requireRole } from '../http/auth.js';
import { IdParams, ProblemResponses, UserId, Uuid } from '../http/schemas.js';
import { metrics } from '../metrics/metrics.js';
import { DEAD_LETTER_REASONS, findClaim } from './claims.js';
import type { ClaimOutcome, IssuanceStrategy } from './strategies/types.js';

export const ClaimBody = Type.Object(
  {
    userId: Type.Optional({ ...UserId, description: 'admin/service only: claim for this user' }),
  },
  { additionalProperties: false },
);

export const IssuedClaimSchema = Type.Object({
  claimId: Uuid,
  status: Type.Literal('issued'),
  coupon: CouponSchema,
});

export const PendingClaimSchema = Type.Object({
  claimId: Uuid,
  status: Type.Literal('pending'),
  position: Type.Integer({ description: 'admission sequence number: the place in line, from 1' }),
});

export const ClaimStatusSchema = Type.Union([
  Type.Object({
    claimId: Uuid,
    campaignId: Uuid,
    status: Type.Literal('pending'),
    position: Type.Integer({ description: 'admission sequence number: the place in line, from 1' }),
  }),
  Type.Object({ claimId: Uuid, campaignId: Uuid, status: Type.Literal('issued'), coupon: CouponSchema }),
  Type.Object({
    claimId: Uuid,
    campaignId: Uuid,
    status: Type.Literal('failed'),
    reason: Type.Enum(DEAD_LETTER_REASONS, {
      description:
        'why the claim could not be persisted: a stable code (the details stay with the operators)',
    }),
  }),
]);

export interface ClaimRouteOptions {
  db: Db;
  /**
   * The strategy as the app decorated it: campaign cache pre-check, then the per-user claim rate
   * limit (src/http/rate-limit.ts), then the strategy; a `rate-limited` refusal from any of them
   * is counted in `stampede_rate_limited_requests_total` here.
   */
  issuance: IssuanceStrategy;
}

const CLAIM_ROUTE = '/v1/campaigns/:id/claims';

export async function claimRoutes(app: FastifyInstance, { db, issuance }: ClaimRouteOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    CLAIM_ROUTE,
    {
      onRequest: requireRole(),
      // A user claiming for itself may send no body at all.
      preValidation: async (request) => {
        request.body ??= {};
      },
      schema: {
        tags: ['claims'],
        summary: 'Claim a coupon (first come, first served)',
        security: [{ bearer: [] }],
        params: IdParams,
        body: ClaimBody,
        response: { 201: IssuedClaimSchema, 202: PendingClaimSchema, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const userId = actingUserId(request.user, request.body.userId);
      let outcome: ClaimOutcome;
      try {
        outcome = await issuance.claim({ campaignId: request.params.id, userId, claimId: timeOrderedId() });
      } catch (error) {
        if (error instanceof DomainError && error.code === 'rate-limited')
          metrics.rateLimited.inc({ route: CLAIM_ROUTE });
        throw error;
      }
      reply.header('location', `/v1/claims/${outcome.claimId}`);
      if (outcome.status === 'issued') {
        return reply
          .code(201)
          .send({ claimId: outcome.claimId, status: 'issued', coupon: couponJson(outcome.coupon) });
      }
      return reply.code(202).send(outcome);
    },
  );

  api.get(
    '/v1/claims/:id',
    {
      onRequest: requireRole(),
      schema: {
        tags: ['claims'],
        summary: 'Where a claim stands: pending, issued (with the coupon) or failed',
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: ClaimStatusSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const claim = await findClaim(db, issuance, request.params.id);
      const principal = request.user;
      if (principal.role === 'user' && claim.userId !== principal.sub) {
        throw new DomainError('forbidden', 'the claim belongs to another user');
      }
      if (claim.status === 'pending') {
        return {
          claimId: claim.claimId,
          campaignId: claim.campaignId,
          status: 'pending' as const,
          position: claim.position,
        };
      }
      if (claim.status === 'issued') {
        return {
          claimId: claim.claimId,
          campaignId: claim.campaignId,
          status: 'issued' as const,
          coupon: couponJson(claim.coupon),
        };
      }
      return {
        claimId: claim.claimId,
        campaignId: claim.campaignId,
        status: 'failed' as const,
        reason: claim.reason,
      };
    },
  );
}
