/**
 * Campaign routes: create, list, read, change (suspend/resume, window, stock), soft delete.
 * Reads are public, but only admins see `draft` campaigns; writes need the admin role.
 *
 * `GET /v1/campaigns/{id}` reads through the two-level campaign cache when Redis is configured
 * (src/campaigns/cache.ts): status, window and stock are those of the last write everywhere
 * within a pub/sub hop, but `issuedCount`/`remaining` and `redeemedAmount`/`budgetRemaining` are a
 * snapshot of the last write, cache fill or sell-out refresh. The list stays a PostgreSQL query.
 */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { decodeCursor, encodeCursor } from '../db/keyset.js';
import { DomainError } from '../errors.js';
import { optionalPrincipal, requireRole } from '../http/auth.js';
import { IdParams, ProblemResponses, toDate } from '../http/schemas.js';
import type { CampaignCache } from './cache.js';
import type { Campaign } from './model.js';
import {
  CampaignPageSchema,
  CampaignSchema,
  CreateCampaignBody,
  campaignJson,
  ListCampaignsQuery,
  UpdateCampaignBody,
} from './schemas.js';
import type { CampaignService } from './service.js';

/** True when the request carries a valid admin token (reads are public; drafts are for admins). */
async function isAdmin(request: FastifyRequest): Promise<boolean> {
  return (await optionalPrincipal(request))?.role === 'admin';
}

export interface CampaignRouteOptions {
  campaigns: CampaignService;
  /** The two-level cache campaign reads go through, when Redis is configured. */
  campaignCache: CampaignCache | undefined;
}

export async function campaignRoutes(
  app: FastifyInstance,
  { campaigns, campaignCache }: CampaignRouteOptions,
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  /** A campaign for the read API: through the two-level cache when there is one. */
  const readCampaign = async (id: string): Promise<Campaign> => {
    if (!campaignCache) return campaigns.get(id);
    const campaign = await campaignCache.get(id);
    if (!campaign) throw new DomainError('not-found', `campaign ${id} does not exist`);
    return campaign;
  };

  api.post(
    '/v1/campaigns',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['campaigns'],
        summary: 'Create a campaign',
        security: [{ bearer: [] }],
        body: CreateCampaignBody,
        response: { 201: CampaignSchema, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const campaign = await campaigns.create({
        name: body.name,
        status: body.status,
        totalQuantity: body.totalQuantity,
        perUserLimit: body.perUserLimit,
        startsAt: toDate(body.startsAt ?? null),
        endsAt: toDate(body.endsAt ?? null),
        couponValidity: body.couponValidity
          ? {
              ...(body.couponValidity.seconds === undefined ? {} : { seconds: body.couponValidity.seconds }),
              ...(body.couponValidity.until === undefined
                ? {}
                : { until: new Date(body.couponValidity.until) }),
            }
          : null,
        discount: body.discount,
        minOrderAmount: body.minOrderAmount ?? null,
        budget: body.budget ?? null,
      });
      return reply.code(201).header('location', `/v1/campaigns/${campaign.id}`).send(campaignJson(campaign));
    },
  );

  api.get(
    '/v1/campaigns',
    {
      schema: {
        tags: ['campaigns'],
        summary:
          'List campaigns, newest first (keyset pagination), optionally by status and part of the name',
        querystring: ListCampaignsQuery,
        response: { 200: CampaignPageSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const { limit, status, q } = request.query;
      const after = decodeCursor(request.query.cursor);
      const admin = await isAdmin(request);
      if (status === 'draft' && !admin) return { items: [], nextCursor: null };
      const page = await campaigns.list({ limit, status, q, after });
      // Drafts are filtered after paging, so a public page may be short; the cursor stays exact.
      const items = admin ? page.items : page.items.filter((campaign) => campaign.status !== 'draft');
      return { items: items.map(campaignJson), nextCursor: page.next && encodeCursor(page.next) };
    },
  );

  api.get(
    '/v1/campaigns/:id',
    {
      schema: {
        tags: ['campaigns'],
        summary: 'Read a campaign with its issued and remaining counts',
        params: IdParams,
        response: { 200: CampaignSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const campaign = await readCampaign(request.params.id);
      if (campaign.status === 'draft' && !(await isAdmin(request))) throw notFound(campaign);
      return campaignJson(campaign);
    },
  );

  api.patch(
    '/v1/campaigns/:id',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['campaigns'],
        summary: 'Suspend, resume or end a campaign; change its window, stock, spend budget or name',
        security: [{ bearer: [] }],
        params: IdParams,
        body: UpdateCampaignBody,
        response: { 200: CampaignSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const body = request.body;
      const campaign = await campaigns.update(request.params.id, {
        name: body.name,
        status: body.status,
        totalQuantity: body.totalQuantity,
        startsAt: toDate(body.startsAt),
        endsAt: toDate(body.endsAt),
        budget: body.budget,
      });
      return campaignJson(campaign);
    },
  );

  api.delete(
    '/v1/campaigns/:id',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['campaigns'],
        summary: 'Soft-delete a campaign (hidden everywhere, kept for archival)',
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 204: { type: 'null' }, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await campaigns.delete(request.params.id);
      return reply.code(204).send(null);
    },
  );
}

/** `POST /v1/campaigns/{id}/restore`: undo a soft delete within ARCHIVE_AFTER. */
export async function campaignRestoreRoute(
  app: FastifyInstance,
  { campaigns, archiveAfterSeconds }: { campaigns: CampaignService; archiveAfterSeconds: number },
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(
    '/v1/campaigns/:id/restore',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['campaigns'],
        summary: 'Restore a soft-deleted campaign (within ARCHIVE_AFTER of its deletion)',
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 200: CampaignSchema, ...ProblemResponses },
      },
    },
    async (request) => campaignJson(await campaigns.restore(request.params.id, archiveAfterSeconds)),
  );
}

function notFound(campaign: Campaign): DomainError {
  return new DomainError('not-found', `campaign ${campaign.id} does not exist`);
}
