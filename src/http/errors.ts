/**
 * Maps errors to RFC 9457 `application/problem+json` responses, once for the whole API.
 *
 * Body: `{ type, title, status, detail, instance, code, requestId, errors? }` where `type` is
 * `https://stampede.dev/problems/<code>` and `code` is the stable {@link ErrorCode}. Details of
 * 5xx errors are logged, never sent.
 */
import type { ErrorObject } from 'ajv';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { DomainError, ERROR_CODES, type ErrorCode, type FieldError } from '../errors.js';
import { issueMessage } from './validation.js';

export const PROBLEM_TYPE_BASE = 'https://stampede.dev/problems/';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** The one code → HTTP status table. */
export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  'validation-failed': 400,
  'unsupported-media-type': 415,
  'payload-too-large': 413,
  unauthorized: 401,
  'invalid-credentials': 401,
  forbidden: 403,
  'not-found': 404,
  'email-taken': 409,
  'account-disabled': 403,
  'last-admin': 409,
  'setup-done': 409,
  'invalid-setup-token': 403,
  'sold-out': 409,
  'already-claimed': 409,
  'campaign-not-active': 409,
  'invalid-transition': 409,
  'already-redeemed': 409,
  'coupon-expired': 409,
  'coupon-revoked': 409,
  'order-amount-too-low': 422,
  'budget-exhausted': 409,
  'already-rolled-back': 409,
  'code-taken': 409,
  'delivery-in-flight': 409,
  'retention-expired': 409,
  'idempotency-key-reused': 422,
  'idempotency-key-in-use': 409,
  'gate-not-configured': 409,
  'not-retryable': 409,
  'rate-limited': 429,
  'service-unavailable': 503,
  'not-implemented': 501,
  internal: 500,
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ErrorCode;
  requestId: string;
  errors?: FieldError[];
}

/** Builds the problem body for a domain error raised while serving `request`. */
export function toProblem(error: DomainError, request: FastifyRequest): Problem {
  const status = STATUS_BY_CODE[error.code];
  const problem: Problem = {
    type: `${PROBLEM_TYPE_BASE}${error.code}`,
    title: ERROR_CODES[error.code],
    status,
    detail: status >= 500 ? ERROR_CODES[error.code] : error.message,
    instance: request.url,
    code: error.code,
    requestId: request.id,
  };
  if (error.errors) problem.errors = error.errors;
  return problem;
}

/** Sends a domain error as problem+json (with `Retry-After` when the error carries one). */
export function sendProblem(reply: FastifyReply, error: DomainError): FastifyReply {
  const problem = toProblem(error, reply.request);
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/** Turns any thrown value into a domain error: Fastify's own 4xx errors keep their meaning. */
export function asDomainError(error: unknown): DomainError {
  if (error instanceof DomainError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const context = fastifyError.validationContext ?? 'body';
    const errors = fastifyError.validation.map((issue) => {
      const missing = (issue.params as { missingProperty?: string } | undefined)?.missingProperty;
      const path = [issue.instancePath.replace(/^\//, ''), missing].filter(Boolean).join('/');
      return { field: path ? `${context}/${path}` : context, message: issueMessage(issue as ErrorObject) };
    });
    const detail = errors.map((e) => `${e.field} ${e.message}`).join('; ');
    return new DomainError('validation-failed', detail, { errors });
  }
  const status = fastifyError.statusCode;
  if (status === 415) return new DomainError('unsupported-media-type');
  if (status === 413) return new DomainError('payload-too-large');
  if (status === 401) return new DomainError('unauthorized', fastifyError.message);
  if (status === 404) return new DomainError('not-found');
  if (status === 429) return new DomainError('rate-limited', fastifyError.message);
  if (status !== undefined && status >= 400 && status < 500) {
    // Fastify's own client errors: malformed JSON, empty body with a JSON content type, bad headers.
    return new DomainError('validation-failed', fastifyError.message, {
      errors: [{ field: 'body', message: fastifyError.message }],
    });
  }
  return new DomainError('internal', undefined, { cause: error });
}

/**
 * Fastify's `frameworkErrors` option: errors its router raises before any route runs (a path
 * that is not valid percent-encoding, FST_ERR_BAD_URL; a path parameter over `maxParamLength`,
 * FST_ERR_MAX_PARAM_LENGTH), answered as 400 `validation-failed` problem+json on `params` like
 * every other bad input, instead of Fastify's own JSON body.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'is not a valid URL path';
  sendProblem(
    reply,
    new DomainError('validation-failed', `params ${message}`, { errors: [{ field: 'params', message }] }),
  );
}

/** The error and not-found handlers of the whole app (plugin `stampede-errors`). */
export const errorHandling = fp(installErrorHandlers, { name: 'stampede-errors' });

async function installErrorHandlers(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((error, request, reply) => {
    const domainError = asDomainError(error);
    if (STATUS_BY_CODE[domainError.code] >= 500 && domainError.code !== 'service-unavailable') {
      request.log.error({ err: error }, 'unhandled error');
    }
    return sendProblem(reply, domainError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      new DomainError('not-found', `No route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
}
