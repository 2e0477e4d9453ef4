/** `GET /v1/archive/coupons?code=` (admin): an archived code is still found, with its archival time. */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { type CouponRow, couponFromRow } from '../coupons/model.js';
import { CouponSchema, couponJson } from '../coupons/schemas.js';
import type { Db } from '../db/client.js';
import { asDate } from '../db/client.js';
import { requireRole } from '../http/auth.js';
import { DateTime, ProblemResponses, SafeString } from '../http/schemas.js';
import { findArchivedCoupons } from './repository.js';

const ArchivedCouponsQuery = Type.Object(
  { code: SafeString({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);

const ArchivedCouponPage = Type.Object({
  items: Type.Array(Type.Object({ coupon: CouponSchema, archivedAt: DateTime })),
});

export async function archiveRoutes(app: FastifyInstance, { db }: { db: Db }): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.get(
    '/v1/archive/coupons',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['archive'],
        summary: 'Find archived coupons by code',
        security: [{ bearer: [] }],
        querystring: ArchivedCouponsQuery,
        response: { 200: ArchivedCouponPage, ...ProblemResponses },
      },
    },
    async (request) => {
      const rows = await findArchivedCoupons(db, request.query.code);
      return {
        items: rows.map((row) => {
          const data = (typeof row.data === 'string' ? JSON.parse(row.data) : row.data) as CouponRow;
          return {
            coupon: couponJson(couponFromRow(data)),
            archivedAt: asDate(row.archived_at).toISOString(),
          };
        }),
      };
    },
  );
}
