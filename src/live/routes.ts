/**
 * `GET /v1/campaigns/{id}/live` (admin): server-sent events
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html), one `LiveFrame` as JSON in the
 * `data` of a message every second while the client stays connected: issued and remaining stock,
 * claims per second by outcome, the sold-out moment, redemptions per second, the redis-gate
 * backlog. Every figure comes from shared state (src/live/snapshot.ts), so several API processes
 * agree. Open streams end when the server closes.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { type Static, Type } from 'typebox';
import type { Db } from '../db/client.js';
import { requireRole } from '../http/auth.js';
import { DateTime, IdParams, Nullable, ProblemResponses } from '../http/schemas.js';
import type { RedisConnection } from '../redis/connection.js';
import type { OutcomeCounters } from './counters.js';
import { claimRates, type LiveReading, readLive, redemptionRate } from './snapshot.js';

/** Time between two frames, ms. */
export const LIVE_INTERVAL_MS = 1000;

const PerOutcome = (description: string) =>
  Type.Object(
    {
      issued: Type.Number(),
      soldOut: Type.Number(),
      alreadyClaimed: Type.Number(),
      rateLimited: Type.Number(),
    },
    { description },
  );

export const LiveFrameSchema = Type.Object(
  {
    at: DateTime,
    status: Type.String(),
    totalQuantity: Type.Integer({ description: 'stock' }),
    issuedCount: Type.Integer({ description: 'coupons issued (persisted)' }),
    remaining: Type.Integer(),
    soldOutAt: Nullable(DateTime),
    claims: PerOutcome('claims answered so far, by outcome (counted while the live counters exist)'),
    claimsPerSecond: PerOutcome('claims per second since the previous frame, by outcome'),
    redemptionsPerSecond: Type.Number(),
    streamBacklog: Nullable(Type.Integer({ description: 'redis-gate claims admitted, not yet persisted' })),
  },
  { $id: 'LiveFrame', description: 'one server-sent event of the live view (the JSON in its data field)' },
);
export type LiveFrame = Static<typeof LiveFrameSchema>;

/** The frame of `current`, rates taken against `previous`. */
export function liveFrame(previous: LiveReading | undefined, current: LiveReading): LiveFrame {
  const rates = claimRates(previous, current);
  return {
    at: current.at.toISOString(),
    status: current.status,
    totalQuantity: current.totalQuantity,
    issuedCount: current.issuedCount,
    remaining: Math.max(0, current.totalQuantity - current.issuedCount),
    soldOutAt: current.soldOutAt?.toISOString() ?? null,
    claims: {
      issued: current.claims.issued,
      soldOut: current.claims['sold-out'],
      alreadyClaimed: current.claims['already-claimed'],
      rateLimited: current.claims['rate-limited'],
    },
    claimsPerSecond: {
      issued: rates.issued,
      soldOut: rates['sold-out'],
      alreadyClaimed: rates['already-claimed'],
      rateLimited: rates['rate-limited'],
    },
    redemptionsPerSecond: redemptionRate(previous, current),
    streamBacklog: current.streamBacklog,
  };
}

export interface LiveRouteOptions {
  db: Db;
  counters: OutcomeCounters;
  redis: RedisConnection | undefined;
  /** Time between frames, ms (tests shorten it). */
  intervalMs?: number;
}

export async function liveRoutes(
  app: FastifyInstance,
  { db, counters, redis, intervalMs = LIVE_INTERVAL_MS }: LiveRouteOptions,
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(LiveFrameSchema);
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });

  api.get(
    '/v1/campaigns/:id/live',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['campaigns'],
        summary: 'Live figures of a campaign, one server-sent event per second',
        security: [{ bearer: [] }],
        params: IdParams,
        response: {
          200: {
            description: 'server-sent events, each data a LiveFrame',
            content: { 'text/event-stream': { schema: { $ref: 'LiveFrame#' } } },
          },
          ...ProblemResponses,
        },
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      // Read once before answering: an unknown campaign is a 404 problem, not an empty stream.
      let previous = await readLive(db, counters, redis, id);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // A reading may finish after the client left: never write to an ended response.
      const write = (text: string) => {
        if (!res.writableEnded && !res.destroyed) res.write(text);
      };
      const send = (frame: LiveFrame) => write(`data: ${JSON.stringify(frame)}\n\n`);
      write(`retry: ${intervalMs * 2}\n\n`);
      send(liveFrame(undefined, previous));
      let reading = false;
      const timer = setInterval(async () => {
        if (reading) return; // a slow reading is not stacked
        reading = true;
        try {
          const current = await readLive(db, counters, redis, id, previous.at);
          send(liveFrame(previous, current));
          previous = current;
        } catch (error) {
          request.log.warn({ err: error, campaignId: id }, 'live view reading failed');
          write(': reading failed, retrying\n\n');
        } finally {
          reading = false;
        }
      }, intervalMs);
      const end = () => {
        clearInterval(timer);
        open.delete(end);
        if (!res.writableEnded) res.end();
      };
      open.add(end);
      request.raw.on('close', end);
    },
  );
}
