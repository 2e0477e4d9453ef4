/**
 * `GET /v1/me/coupons`: the caller's coupons (or, for admin/service, a given user's), newest first.
 * `GET /v1/coupons`: admin search with filters (src/coupons/search.ts).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/client.js';
import { decodeCursor } from '../db/keyset.js';
import { actingUserId, requireRole } from '../http/auth.js';
import { ProblemResponses, toDate } from '../http/schemas.js';
import { CouponPageSchema, CouponSearchQuery, couponJson, MyCouponsQuery } from './schemas.js';
import { searchCoupons } from './search.js';

export async function couponRoutes(app: FastifyInstance, { db }: { db: Db }): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

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
      // "My coupons" is the search with one filter: the same order, index and cursor.
      const userId = actingUserId(request.user, request.query.userId);
      const { limit, cursor } = request.query;
      const page = await searchCoupons(db, { userId }, { limit, after: decodeCursor(cursor) });
      return { items: page.items.map(couponJson), nextCursor: page.nextCursor };
    },
  );

  api.get(
    '/v1/coupons',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['coupons'],
        summary: 'Search coupons, newest first (keyset pagination; by redemption time with a redeemed range)',
        security: [{ bearer: [] }],
        querystring: CouponSearchQuery,
        response: { 200: CouponPageSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const { limit, cursor, issuedFrom, issuedTo, redeemedFrom, redeemedTo, ...equal } = request.query;
      const page = await searchCoupons(
        db,
        {
          ...equal,
          issuedFrom: toDate(issuedFrom),
          issuedTo: toDate(issuedTo),
          redeemedFrom: toDate(redeemedFrom),
          redeemedTo: toDate(redeemedTo),
        },
        { limit, after: decodeCursor(cursor) },
      );
      return { items: page.items.map(couponJson), nextCursor: page.nextCursor };
    },
  );
}
