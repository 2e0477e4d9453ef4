/**
 * Structured JSON logs (pino, through Fastify's logger) and request ids.
 *
 * - One JSON object per line on stdout, level from `LOG_LEVEL`; every line of a request carries
 *   its `reqId`; one `request completed` line per request (method, url, statusCode, responseTime ms).
 * - The request id is the caller's `x-request-id` when it is a sane token (a load balancer or the
 *   client correlates with it), otherwise a fresh UUID; it is echoed in the `x-request-id`
 *   response header and in problem+json bodies (`requestId`).
 * - Secrets never reach the log: authorization and cookie headers, passwords, tokens and secrets
 *   are censored at the top of a record and one level down (pino `redact` for exact paths,
 *   {@link censorNested} for the level below), as defense in depth — the default serializers log
 *   no headers and no bodies at all.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import fp from 'fastify-plugin';
import { type DestinationStream, destination, type LoggerOptions } from 'pino';

export const REQUEST_ID_HEADER = 'x-request-id';

/** What a caller-supplied request id may look like: short, no spaces or control characters. */
const REQUEST_ID_PATTERN = /^[\w.:@/+=-]{1,128}$/;

/** What a redacted value is replaced with. */
export const CENSOR = '[Redacted]';

/** Keys whose values are censored at the top of a record and one level down (`body.password`). */
const SECRET_KEYS = [
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'jwtSecret',
  'databaseUrl',
  'authorization',
];
const SECRET_KEY_SET = new Set(SECRET_KEYS);

/** Log paths whose values are replaced by {@link CENSOR} (pino `redact`, exact paths only). */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  ...SECRET_KEYS,
];

/** Headers censored in a nested `headers` object (`request.headers.authorization`). */
const SECRET_HEADERS = ['authorization', 'cookie'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * The one-level half of the redaction: in every plain object at the top of a log record, the
 * values of the secret keys (password, token, …) and of `headers.authorization` and
 * `headers.cookie` become {@link CENSOR}. Returns the record itself when there is nothing to
 * censor (the usual case, at the cost of a look at each top-level value), otherwise a copy: the
 * caller's objects are never changed.
 *
 * Why not pino's `*.password` wildcard paths: fast-redact costs about 1 µs per wildcard path per
 * line; with eleven of them the access line of a request cost 13 µs instead of 3 (a pino
 * microbenchmark), a tenth of the redis-gate claim path's CPU.
 */
export function censorNested(record: Record<string, unknown>): Record<string, unknown> {
  let result = record;
  for (const key in record) {
    const value = record[key];
    if (!isPlainObject(value)) continue;
    let censored: Record<string, unknown> | undefined;
    for (const inner in value) {
      if (SECRET_KEY_SET.has(inner)) {
        censored ??= { ...value };
        censored[inner] = CENSOR;
      } else if (inner === 'headers' && isPlainObject(value.headers)) {
        const headers = value.headers;
        if (SECRET_HEADERS.some((header) => header in headers)) {
          censored ??= { ...value };
          censored.headers = {
            ...headers,
            ...Object.fromEntries(SECRET_HEADERS.filter((h) => h in headers).map((h) => [h, CENSOR])),
          };
        }
      }
    }
    if (censored) {
      if (result === record) result = { ...record };
      result[key] = censored;
    }
  }
  return result;
}

/**
 * Most bytes of one write to stdout: PIPE_BUF on Linux, so that the writes of several processes
 * (`serve --workers N`) sharing one pipe never interleave inside a line.
 */
export const LOG_WRITE_BYTES = 4096;

/**
 * Options for Fastify's pino logger: `level` from the config; `stream` (tests) replaces stdout.
 *
 * Stdout is written asynchronously (pino.destination with `sync: false`): lines logged while a
 * write is in flight go out together in the next one, whole lines only, at most
 * {@link LOG_WRITE_BYTES} per write. One write system call per request line was a good part of
 * what logging cost the claim path (bench/run.ts, metrics+logs on vs off). pino flushes what is
 * pending when the process exits, crash included; only a `kill -9` can lose the last lines.
 */
export function loggerOptions(
  level: string,
  stream?: DestinationStream,
): LoggerOptions & { stream?: DestinationStream } {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: CENSOR },
    formatters: { log: censorNested },
    stream: stream ?? destination({ dest: 1, sync: false, maxWrite: LOG_WRITE_BYTES }),
  };
}

/** Fastify's `genReqId`: the caller's `x-request-id` when sane, else a new UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const header = request.headers[REQUEST_ID_HEADER];
  return typeof header === 'string' && REQUEST_ID_PATTERN.test(header) ? header : randomUUID();
}

/**
 * Fastify's request logging with one access line per request, written when it completes
 * (Fastify's default is two: "incoming request" and "request completed"; logging is on the claim
 * path, and half the lines is half its cost): method, url, statusCode, responseTime (ms).
 */
export class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 1000) / 1000,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

/** Echoes the request id in every response, errors included. */
/** Echoes each request's id in the `x-request-id` response header (plugin `stampede-request-id`). */
export const requestIds = fp(echoRequestIds, { name: 'stampede-request-id' });

async function echoRequestIds(app: FastifyInstance): Promise<void> {
  // Callback style: on every request, an async hook would cost a promise for nothing.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
}
