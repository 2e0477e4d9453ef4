/**
 * The typed Stampede client: `openapi-fetch` (https://openapi-ts.dev/openapi-fetch/) over the
 * types openapi-typescript generated from the server's OpenAPI document (`schema.d.ts`). Every
 * path, parameter, body and response is typed; nothing here is hand-written per route.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type { components, paths };
/** A client made by {@link createStampedeClient}. */
export type StampedeClient = Client<paths>;
/** The API's error body (RFC 9457 problem details with `code` and per-field `errors`). */
export type Problem = components['schemas']['Problem'];

export interface StampedeClientOptions {
  /** A `fetch` to use instead of the global one (tests, proxies). */
  fetch?: typeof fetch;
}

/**
 * A client for the Stampede API at `baseUrl` (e.g. `http://localhost:3000`; the paths already start
 * with `/v1`). `getToken` is asked before every request and its token, when there is one, sent as
 * `Authorization: Bearer <token>`; return undefined for public calls.
 *
 * Calls return `{ data, error, response }`: `error` is the problem body of a 4xx/5xx reply.
 */
export function createStampedeClient(
  baseUrl: string,
  getToken: () => string | undefined | Promise<string | undefined> = () => undefined,
  options: StampedeClientOptions = {},
): StampedeClient {
  const client = createClient<paths>({ baseUrl, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const bearer: Middleware = {
    async onRequest({ request }) {
      const token = await getToken();
      if (token) request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
  };
  client.use(bearer);
  return client;
}

/** True when `value` is a problem body (has the API's stable `code`). */
export function isProblem(value: unknown): value is Problem {
  return typeof value === 'object' && value !== null && typeof (value as Problem).code === 'string';
}
