/**
 * The webhooks API (admin only), Standard Webhooks endpoints fed by the outbox:
 *
 * - `POST /v1/webhooks {url, events[], description?}` → 201 `{id, url, events, secret, ...}`:
 *   the secret (`whsec_…`) is shown here only.
 * - `GET /v1/webhooks?limit&cursor` → `{items, nextCursor}`, newest first; `GET /v1/webhooks/{id}`.
 * - `PATCH /v1/webhooks/{id} {url?, events?, description?, enabled?}`; `DELETE /v1/webhooks/{id}`.
 * - `POST /v1/webhooks/{id}/rotate-secret` → 200 with the new secret; the old one keeps signing
 *   for 24 h ({@link ROTATION_GRACE_SECONDS}).
 * - `GET /v1/webhooks/{id}/deliveries?status&limit&cursor` → status, attempts, last response
 *   code and time of each delivery, newest first.
 * - `POST /v1/webhooks/{id}/deliveries/{deliveryId}/retry` → 202: due again now.
 *
 * Endpoint URLs on private or loopback addresses are refused (`body/url`) unless
 * WEBHOOK_ALLOW_PRIVATE_URLS (src/webhooks/ssrf.ts).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../db/client.js';
import { decodeCursor, encodeCursor } from '../db/keyset.js';
import { DomainError, invalidField } from '../errors.js';
import { requireRole } from '../http/auth.js';
import { IdParams, Nullable, PageQuery, ProblemResponses, SafeString, Uuid } from '../http/schemas.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './outbox.js';
import {
  deleteEndpoint,
  findEndpoint,
  insertEndpoint,
  listDeliveries,
  listEndpoints,
  retryDelivery,
  rotateSecret,
  updateEndpoint,
  type WebhookDelivery,
  type WebhookEndpoint,
} from './repository.js';
import { newSecret } from './signing.js';
import { refusedUrl } from './ssrf.js';

/** How long the previous secret keeps signing after a rotation, s. */
export const ROTATION_GRACE_SECONDS = 86_400;

const EventType = Type.Enum(WEBHOOK_EVENT_TYPES, { description: 'an event type' });
const Events = Type.Array(EventType, {
  minItems: 1,
  maxItems: WEBHOOK_EVENT_TYPES.length,
  uniqueItems: true,
});
const Url = SafeString({
  minLength: 1,
  maxLength: 2000,
  description: 'http(s) URL the events are POSTed to',
});
const Description = SafeString({ maxLength: 500 });

const EndpointSchema = Type.Object({
  id: Uuid,
  url: Type.String(),
  description: Nullable(Type.String()),
  events: Type.Array(EventType),
  enabled: Type.Boolean(),
  disabledReason: Nullable(Type.String({ description: 'why it was disabled (e.g. it answered 410)' })),
  previousSecretExpiresAt: Nullable(
    Type.String({ format: 'date-time', description: 'until when the previous secret also signs' }),
  ),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

const EndpointWithSecretSchema = Type.Intersect([
  EndpointSchema,
  Type.Object({ secret: Type.String({ description: '`whsec_` + base64 of 32 random bytes; shown once' }) }),
]);

/** `paused`: its endpoint is disabled; the delivery waits until it is enabled again. */
const DeliveryStatusSchema = Type.Union(
  [Type.Literal('pending'), Type.Literal('paused'), Type.Literal('delivered'), Type.Literal('failed')],
  { description: 'pending (due at nextAttemptAt), paused (endpoint disabled), delivered or failed' },
);

const DeliverySchema = Type.Object({
  id: Uuid,
  eventId: Type.String({ description: 'the webhook-id header of every attempt' }),
  eventType: EventType,
  status: DeliveryStatusSchema,
  attempts: Type.Integer(),
  nextAttemptAt: Nullable(Type.String({ format: 'date-time' })),
  lastStatusCode: Nullable(Type.Integer()),
  lastAttemptAt: Nullable(Type.String({ format: 'date-time' })),
  lastError: Nullable(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
});

function endpointJson(endpoint: WebhookEndpoint) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    description: endpoint.description,
    events: endpoint.events,
    enabled: endpoint.enabled,
    disabledReason: endpoint.disabledReason,
    previousSecretExpiresAt: endpoint.previousSecretExpiresAt?.toISOString() ?? null,
    createdAt: endpoint.createdAt.toISOString(),
    updatedAt: endpoint.updatedAt.toISOString(),
  };
}

function deliveryJson(delivery: WebhookDelivery) {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    status: delivery.status,
    attempts: delivery.attempts,
    nextAttemptAt: delivery.nextAttemptAt?.toISOString() ?? null,
    lastStatusCode: delivery.lastStatusCode,
    lastAttemptAt: delivery.lastAttemptAt?.toISOString() ?? null,
    lastError: delivery.lastError,
    createdAt: delivery.createdAt.toISOString(),
  };
}

export interface WebhookRouteOptions {
  db: Db;
  /** WEBHOOK_ALLOW_PRIVATE_URLS. */
  allowPrivateUrls: boolean;
}

export async function webhookRoutes(
  app: FastifyInstance,
  { db, allowPrivateUrls }: WebhookRouteOptions,
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const secured = { onRequest: requireRole('admin') };
  const common = { tags: ['webhooks'], security: [{ bearer: [] }] };

  /** @throws DomainError `validation-failed` on `body/url` when the URL may not be an endpoint. */
  async function checkUrl(url: string): Promise<void> {
    const refused = await refusedUrl(url, allowPrivateUrls);
    if (refused) throw invalidField('body/url', refused);
  }

  async function endpointOr404(id: string): Promise<WebhookEndpoint> {
    const endpoint = await findEndpoint(db, id);
    if (!endpoint) throw new DomainError('not-found', `webhook endpoint ${id} does not exist`);
    return endpoint;
  }

  api.post(
    '/v1/webhooks',
    {
      ...secured,
      schema: {
        ...common,
        summary: 'Create a webhook endpoint',
        body: Type.Object(
          { url: Url, events: Events, description: Type.Optional(Description) },
          { additionalProperties: false },
        ),
        response: { 201: EndpointWithSecretSchema, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const { url, events, description } = request.body;
      await checkUrl(url);
      const secret = newSecret();
      const endpoint = await insertEndpoint(db, {
        url,
        events: events as WebhookEventType[],
        description: description ?? null,
        secret,
      });
      return reply
        .code(201)
        .header('location', `/v1/webhooks/${endpoint.id}`)
        .send({ ...endpointJson(endpoint), secret });
    },
  );

  api.get(
    '/v1/webhooks',
    {
      ...secured,
      schema: {
        ...common,
        summary: 'List webhook endpoints, newest first (keyset pagination)',
        querystring: Type.Object(PageQuery),
        response: {
          200: Type.Object({ items: Type.Array(EndpointSchema), nextCursor: Nullable(Type.String()) }),
          ...ProblemResponses,
        },
      },
    },
    async (request) => {
      const page = await listEndpoints(db, {
        limit: request.query.limit,
        after: decodeCursor(request.query.cursor),
      });
      return { items: page.items.map(endpointJson), nextCursor: page.next && encodeCursor(page.next) };
    },
  );

  api.get(
    '/v1/webhooks/:id',
    {
      ...secured,
      schema: {
        ...common,
        summary: 'Get a webhook endpoint',
        params: IdParams,
        response: { 200: EndpointSchema, ...ProblemResponses },
      },
    },
    async (request) => endpointJson(await endpointOr404(request.params.id)),
  );

  api.patch(
    '/v1/webhooks/:id',
    {
      ...secured,
      schema: {
        ...common,
        summary: "Change a webhook endpoint's URL, events or description, or disable / enable it",
        params: IdParams,
        body: Type.Object(
          {
            url: Type.Optional(Url),
            events: Type.Optional(Events),
            description: Type.Optional(Nullable(Description)),
            enabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: EndpointSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const { url, events, description, enabled } = request.body;
      if (url !== undefined) await checkUrl(url);
      const endpoint = await updateEndpoint(db, request.params.id, {
        url,
        events: events as WebhookEventType[] | undefined,
        description,
        enabled,
      });
      if (!endpoint)
        throw new DomainError('not-found', `webhook endpoint ${request.params.id} does not exist`);
      return endpointJson(endpoint);
    },
  );

  api.delete(
    '/v1/webhooks/:id',
    {
      ...secured,
      schema: {
        ...common,
        summary: 'Delete a webhook endpoint and its deliveries',
        params: IdParams,
        response: { 204: Type.Null(), ...ProblemResponses },
      },
    },
    async (request, reply) => {
      if (!(await deleteEndpoint(db, request.params.id)))
        throw new DomainError('not-found', `webhook endpoint ${request.params.id} does not exist`);
      return reply.code(204).send(null);
    },
  );

  api.post(
    '/v1/webhooks/:id/rotate-secret',
    {
      ...secured,
      schema: {
        ...common,
        summary: 'Give a webhook endpoint a new secret; the old one also signs for 24 h',
        params: IdParams,
        response: { 200: EndpointWithSecretSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const secret = newSecret();
      const endpoint = await rotateSecret(db, request.params.id, secret, ROTATION_GRACE_SECONDS);
      if (!endpoint)
        throw new DomainError('not-found', `webhook endpoint ${request.params.id} does not exist`);
      return { ...endpointJson(endpoint), secret };
    },
  );

  api.get(
    '/v1/webhooks/:id/deliveries',
    {
      ...secured,
      schema: {
        ...common,
        summary: "List a webhook endpoint's deliveries, newest first (keyset pagination)",
        params: IdParams,
        querystring: Type.Object({
          status: Type.Optional(DeliveryStatusSchema),
          ...PageQuery,
        }),
        response: {
          200: Type.Object({ items: Type.Array(DeliverySchema), nextCursor: Nullable(Type.String()) }),
          ...ProblemResponses,
        },
      },
    },
    async (request) => {
      await endpointOr404(request.params.id);
      const page = await listDeliveries(db, request.params.id, {
        limit: request.query.limit,
        status: request.query.status,
        after: decodeCursor(request.query.cursor),
      });
      return { items: page.items.map(deliveryJson), nextCursor: page.next && encodeCursor(page.next) };
    },
  );

  api.post(
    '/v1/webhooks/:id/deliveries/:deliveryId/retry',
    {
      ...secured,
      schema: {
        ...common,
        summary: 'Send a delivery again now (also a delivered or failed one)',
        params: Type.Object({ id: Uuid, deliveryId: Uuid }),
        response: { 202: Type.Null(), ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const { id, deliveryId } = request.params;
      const result = await retryDelivery(db, id, deliveryId);
      if (result === 'not-found')
        throw new DomainError('not-found', `delivery ${deliveryId} of webhook endpoint ${id} does not exist`);
      if (result === 'in-flight') throw new DomainError('delivery-in-flight');
      return reply.code(202).send(null);
    },
  );
}
