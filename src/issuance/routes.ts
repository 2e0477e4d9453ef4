/**
 * `POST /v1/campaigns/{id}/claims`: a user claims a coupon for itself, or an admin/service
 * principal claims for a shop's user with `{ "userId": "…" }`. 201 with the coupon when the
 * strategy issues synchronously; 202 with the place in line when it only admits (redis-gate).
 */
import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { CouponSchema, couponJson } from '../coupons/schemas.js';
import { actingUserId, requireRole } from '../http/auth.js';
import { claimRateLimit } from '../http/rate-limit.js';
import { IdParams, ProblemResponses, Uuid } from '../http/schemas.js';

export const ClaimBody = Type.Object(
  {
    userId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'admin/service only: claim for this user' }),
    ),
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

export async function claimRoutes(app: FastifyInstance): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    '/v1/campaigns/:id/claims',
    {
      onRequest: requireRole(),
      config: claimRateLimit(app.services.config.claimRateLimit),
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
      const outcome = await app.services.issuance.claim({
        campaignId: request.params.id,
        userId,
        claimId: randomUUID(),
      });
      reply.header('location', `/v1/claims/${outcome.claimId}`);
      if (outcome.status === 'issued') {
        return reply
          .code(201)
          .send({ claimId: outcome.claimId, status: 'issued', coupon: couponJson(outcome.coupon) });
      }
      return reply.code(202).send(outcome);
    },
  );
}
