/**
 * `/healthz` (liveness: the process answers) and `/readyz` (readiness: every dependency answers;
 * 503 problem+json naming the failing one otherwise). Extra checks (Redis) are added with
 * `readinessChecks`.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import { NEVER_SHED } from './load-shedding.js';
import { ProblemResponses } from './schemas.js';

export type ReadinessCheck = { name: string; check: () => Promise<void> };

const ReadySchema = Type.Object({
  status: Type.Literal('ok'),
  checks: Type.Record(Type.String(), Type.String()),
});

/** `/healthz` and `/readyz`; readiness asks every check of `readinessChecks` in turn. */
export async function healthRoutes(
  app: FastifyInstance,
  { readinessChecks }: { readinessChecks: readonly ReadinessCheck[] },
): Promise<void> {
  app.get(
    '/healthz',
    {
      config: NEVER_SHED,
      schema: {
        tags: ['ops'],
        summary: 'Liveness',
        // An orchestrator's probe, not part of the API a client is generated from.
        hide: true,
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: NEVER_SHED,
      schema: {
        tags: ['ops'],
        summary: 'Readiness of every dependency',
        hide: true,
        response: { 200: ReadySchema, ...ProblemResponses },
      },
    },
    async () => {
      const checks: Record<string, string> = {};
      for (const { name, check } of readinessChecks) {
        try {
          await check();
          checks[name] = 'ok';
        } catch {
          throw new DomainError('service-unavailable', `${name} is not reachable`, { retryAfterSeconds: 5 });
        }
      }
      return { status: 'ok' as const, checks };
    },
  );
}
