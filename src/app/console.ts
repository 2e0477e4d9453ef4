/**
 * Serves the operator console (console/, built by `npm run build` into console/dist) at /console:
 * files with their precompressed .br/.gz twins (scripts/precompress.mjs) chosen by
 * Accept-Encoding, hashed assets cached for a year, index.html revalidated on every load, and any
 * other path under /console answered with index.html so the console's own router can take it.
 * https://github.com/fastify/fastify-static
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** console/dist, from src/app or dist/app alike. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist/', import.meta.url));

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/**
 * Registers the console under /console; without a build (no console/dist/index.html) it logs a
 * warning and registers nothing, so the API still serves.
 */
export async function consoleRoutes(app: FastifyInstance, { root = CONSOLE_DIST }: { root?: string } = {}) {
  if (!existsSync(`${root}index.html`)) {
    app.log.warn({ root }, 'console not built (npm run build): /console is not served');
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/console/',
    preCompressed: true,
    wildcard: false,
    index: false,
    cacheControl: false,
    setHeaders: (reply, path) => {
      reply.header('cache-control', path.includes('/assets/') ? IMMUTABLE : REVALIDATE);
    },
  });
  const indexHtml = (request: FastifyRequest, reply: FastifyReply) =>
    // A missing asset is a 404, not the page: a browser must not run HTML as a stale script.
    request.url.startsWith('/console/assets/')
      ? reply.callNotFound()
      : reply.header('cache-control', REVALIDATE).sendFile('index.html');
  app.get('/console', { schema: { hide: true } }, (_request, reply) => reply.redirect('/console/'));
  app.get('/console/', { schema: { hide: true } }, indexHtml);
  app.get('/console/*', { schema: { hide: true } }, indexHtml);
}
