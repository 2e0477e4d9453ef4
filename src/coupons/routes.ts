/** `GET /v1/me/coupons`: the caller's coupons (or, for admin/service, a given user's), newest first. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { actingUserId, requireRole } from '../http/auth.js';
import { decodeCursor, encodeCursor, ProblemResponses } from '../http/schemas.js';
import { listUserCoupons } from './repository.js';
import { CouponPageSchema, couponJson, MyCouponsQuery } from './schemas.js';

export async function couponRoutes(app: FastifyInstance): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = app.services.database;

  api.get(
    '/v1/me/coupons',
    {
      onRequest: requireRole(),
      schema: {
        tags: ['coupons'],
        summary: 'My coupons, newest first (keyset pagination)',
        security: [{ bearer: [] }],
        querystring: MyCouponsQuery,
        response: { 200: CouponPageSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const userId = actingUserId(request.user, request.query.userId);
      const position = decodeCursor(request.query.cursor);
      const { limit } = request.query;
      const page = await listUserCoupons(db, userId, {
        limit,
        cursor: position && { issuedAt: position.at, id: position.id },
      });
      const last = page.length === limit ? page[page.length - 1] : undefined;
      return { items: page.map(couponJson), nextCursor: last ? encodeCursor(last.issuedAt, last.id) : null };
    },
  );
}
