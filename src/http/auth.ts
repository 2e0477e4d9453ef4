/**
 * Authentication and authorization for routes.
 *
 * Access tokens are HS256 JWTs with `sub` = user id, `role`, `iat` and `exp`, signed and verified
 * by fast-jwt directly through `app.tokens`: one signer and one verifier built at start-up, and
 * verified tokens remembered until their `exp` (@fastify/jwt cost about 35 µs CPU per claim
 * request; a remembered token costs one map lookup). Routes declare who may call them with
 * `onRequest: requireRole(...)`; the verified principal is then `request.user`. A token that is
 * missing, expired, forged or malformed gets 401 `unauthorized`; a valid token of the wrong role
 * gets 403 `forbidden`.
 */
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { LRUCache } from 'lru-cache';
import { DomainError } from '../errors.js';

/** The roles a principal may have: operator, shop backend, end user. */
export const ROLES = ['admin', 'service', 'user'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  sub: string;
  role: Role;
}

/** Signs and verifies access tokens with the app's secret. */
export interface Tokens {
  /** An HS256 JWT for `principal` with `iat` and `exp` (now + the configured ttl), both in s. */
  sign(principal: Principal): string;
  /**
   * The principal of a valid token (a fresh `{ sub, role }` object).
   * @throws DomainError `unauthorized` when the token is expired, forged, malformed, unsigned or
   *   its payload lacks a string `sub` or a known `role`.
   */
  verify(token: string): Principal;
}

declare module 'fastify' {
  interface FastifyInstance {
    tokens: Tokens;
  }
  interface FastifyRequest {
    /** The verified caller; set by {@link requireRole}, null on routes without it. */
    user: Principal;
  }
}

/**
 * Verified tokens are remembered for at most this long, ms, and never past their own `exp`;
 * failures are never remembered. (fast-jwt's own cache keys entries by a SHA-256 of the token,
 * which cost as much as verifying it; its documented faster choice, the identity key, prints a
 * security warning at every start. So the cache is an lru-cache keyed by the token itself: an
 * exact key, no collision possible.)
 */
const VERIFIED_TTL_MS = 600_000;
/** Verified tokens remembered at most (about 200 bytes each). */
const VERIFIED_MAX = 10_000;

const BEARER = /^Bearer\s/i;

export interface AuthOptions {
  /** The HMAC key of HS256. */
  secret: string;
  /** Access token lifetime, s. */
  ttlSeconds: number;
}

/** Decorates the app with `tokens` (HS256 only) and requests with `user` (plugin `stampede-auth`). */
export const authentication = fp(installAuth, { name: 'stampede-auth', dependencies: ['stampede-errors'] });

async function installAuth(app: FastifyInstance, { secret, ttlSeconds }: AuthOptions): Promise<void> {
  const signer = createSigner({ key: secret, algorithm: 'HS256', expiresIn: ttlSeconds * 1000 });
  // `exp` is required: a validly signed token without one would never expire.
  const verifier = createVerifier({ key: secret, algorithms: ['HS256'], requiredClaims: ['exp'] });
  const verified = new LRUCache<string, Principal>({ max: VERIFIED_MAX });
  const tokens: Tokens = {
    sign: ({ sub, role }) => signer({ sub, role }),
    verify: (token) => {
      const known = verified.get(token);
      // A copy: callers own the principal they get.
      if (known) return { sub: known.sub, role: known.role };
      let payload: { sub?: unknown; role?: unknown; exp?: unknown };
      try {
        payload = verifier(token);
      } catch (error) {
        const expired = error instanceof TokenError && error.code === TokenError.codes.expired;
        throw new DomainError(
          'unauthorized',
          expired ? 'the access token has expired' : 'the access token is not valid',
        );
      }
      const { sub, role } = payload;
      if (typeof sub !== 'string' || !ROLES.includes(role as Role)) {
        throw new DomainError('unauthorized', 'the access token is not valid');
      }
      const principal = { sub, role: role as Role };
      // Remembered until its exp at most.
      const ttl = Math.min(VERIFIED_TTL_MS, Number(payload.exp) * 1000 - Date.now());
      if (ttl > 0) verified.set(token, principal, { ttl });
      return { sub, role: principal.role };
    },
  };
  app.decorate('tokens', tokens);
  // null keeps the request object's shape stable; requireRole sets it.
  app.decorateRequest('user', null as unknown as Principal);
}

/**
 * The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, exactly one space).
 * As under @fastify/jwt, another scheme (`Basic ...`) counts as a missing Bearer header.
 * @throws DomainError `unauthorized` when the header is missing, not Bearer, or not two parts.
 */
function bearerToken(header: string | undefined): string {
  if (!header || !BEARER.test(header)) {
    throw new DomainError('unauthorized', 'missing Authorization: Bearer <token> header');
  }
  const parts = header.split(' ');
  if (parts.length !== 2 || !parts[1]) {
    throw new DomainError('unauthorized', 'the Authorization header is not of the form Bearer <token>');
  }
  return parts[1];
}

/**
 * An onRequest hook admitting a valid token of one of `roles` (any role when empty) and setting
 * `request.user`. Callback-style, so a request allocates no promise here.
 * Fails with DomainError `unauthorized` (401) or `forbidden` (403).
 */
export function requireRole(...roles: Role[]) {
  const forbidden = `this operation needs the role ${roles.join(' or ')}`;
  return (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    let principal: Principal;
    try {
      principal = request.server.tokens.verify(bearerToken(request.headers.authorization));
    } catch (error) {
      done(error as Error);
      return;
    }
    if (roles.length > 0 && !roles.includes(principal.role)) {
      done(new DomainError('forbidden', forbidden));
      return;
    }
    request.user = principal;
    done();
  };
}

/**
 * The principal of the request's bearer token, or undefined without a valid one (for public routes
 * that show more to some roles). Does not set `request.user`.
 */
export function optionalPrincipal(request: FastifyRequest): Principal | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  try {
    return request.server.tokens.verify(bearerToken(header));
  } catch {
    return undefined;
  }
}

/** Roles allowed to act for another user (a shop backend integrating Stampede). */
const DELEGATING_ROLES: readonly Role[] = ['admin', 'service'];

/**
 * The user an operation is for: the caller itself, or `requestedUserId` when the caller is an
 * admin or service principal acting for a shop's user.
 * @throws DomainError `forbidden` when a user token names another user.
 */
export function actingUserId(principal: Principal, requestedUserId: string | undefined): string {
  if (requestedUserId === undefined || requestedUserId === principal.sub) return principal.sub;
  if (!DELEGATING_ROLES.includes(principal.role)) {
    throw new DomainError('forbidden', 'a user token cannot act for another user (body/userId)');
  }
  return requestedUserId;
}
