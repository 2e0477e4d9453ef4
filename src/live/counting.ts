/**
 * Counts the answer of every claim (`POST /v1/campaigns/{id}/claims`) for the live view, from the
 * outside: a 201 or 202 is `issued`, a refusal counts by its problem code (`sold-out`,
 * `already-claimed`, `rate-limited`, whichever layer refused it: the rate limiter, the campaign
 * cache's fast path or the strategy). Registered at the root so it sees the claim route.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { DomainError } from '../errors.js';
import { LIVE_OUTCOMES, type LiveOutcome, type OutcomeCounters } from './counters.js';

const CLAIM_ROUTE = '/v1/campaigns/:id/claims';
const refusals = new WeakMap<FastifyRequest, string>();

function isClaim(request: FastifyRequest): boolean {
  return request.method === 'POST' && request.routeOptions.url === CLAIM_ROUTE;
}

async function installCounting(app: FastifyInstance, { counters }: { counters: OutcomeCounters }) {
  // Callback-style hooks: they run on every request, and an async hook costs a promise each time.
  app.addHook('onError', (request, _reply, error, done) => {
    if (isClaim(request) && error instanceof DomainError) refusals.set(request, error.code);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (isClaim(request)) {
      const campaignId = (request.params as { id?: string }).id;
      const outcome = reply.statusCode < 300 ? 'issued' : refusals.get(request);
      if (campaignId && LIVE_OUTCOMES.includes(outcome as LiveOutcome))
        counters.add(campaignId, outcome as LiveOutcome);
    }
    done();
  });
}

/** The claim outcome counting (plugin `stampede-live-counting`), feeding `counters`. */
export const claimOutcomeCounting = fp(installCounting, {
  name: 'stampede-live-counting',
  dependencies: ['stampede-errors'],
});
