/**
 * Authentication and authorization for routes.
 *
 * Access tokens are HS256 JWTs with `sub` = user id, `role`, `ver` (the user's token version when
 * it was signed), `iat` and `exp`, signed and verified by fast-jwt directly through `app.tokens`:
 * one signer and one verifier built at start-up, and verified signatures remembered until their
 * `exp` (@fastify/jwt cost about 35 µs CPU per claim request; a remembered token costs one map
 * lookup). Routes declare who may call them with `onRequest: requireRole(...)`; the verified
 * principal is then `request.user`.
 *
 * A signature is not enough: every request also asks the {@link PrincipalDirectory} (a short cache
 * of the users table, src/auth/principals.ts) whether the principal still exists, is enabled and
 * still has the token version the token carries. A role change, password change, disable or
 * delete bumps or removes that version, so the user's tokens stop working in every process within
 * the cache's bound (5 s), at once in the process that made the change.
 *
 * A token that is missing, expired, forged, malformed or revoked gets 401 `unauthorized`; a valid
 * token of the wrong role gets 403 `forbidden`.
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

/** A principal as an access token names it: {@link Principal} plus the token version it was signed with. */
export interface TokenClaims extends Principal {
  ver: number;
}

/** What the users table says of a principal now. */
export interface PrincipalState {
  role: Role;
  tokenVersion: number;
}

/**
 * Where requests learn whether a token's principal still stands (implemented by src/auth/principals.ts).
 * `lookup` answers synchronously when it knows (its cache), else with a promise; `null` means
 * unknown, deleted or disabled. It must not throw synchronously; a rejected promise fails the
 * request with the rejection.
 */
export interface PrincipalDirectory {
  lookup(sub: string): PrincipalState | null | Promise<PrincipalState | null>;
}

/** Signs and verifies access tokens with the app's secret. */
export interface Tokens {
  /** An HS256 JWT for `claims` with `iat` and `exp` (now + the configured ttl), both in s. */
  sign(claims: TokenClaims): string;
  /**
   * The claims of a validly signed, unexpired token (a fresh object). This checks the signature
   * only; whether the principal still stands is {@link PrincipalDirectory}'s answer.
   * @throws DomainError `unauthorized` when the token is expired, forged, malformed, unsigned or
   *   its payload lacks a string `sub`, a known `role` or an integer `ver`.
   */
  verify(token: string): TokenClaims;
  /** The directory every authenticated request is checked against. */
  directory: PrincipalDirectory;
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
  /** Whether a token's principal still stands (src/auth/principals.ts). */
  directory: PrincipalDirectory;
}

/** Decorates the app with `tokens` (HS256 only) and requests with `user` (plugin `stampede-auth`). */
export const authentication = fp(installAuth, { name: 'stampede-auth', dependencies: ['stampede-errors'] });

async function installAuth(
  app: FastifyInstance,
  { secret, ttlSeconds, directory }: AuthOptions,
): Promise<void> {
  const signer = createSigner({ key: secret, algorithm: 'HS256', expiresIn: ttlSeconds * 1000 });
  // `exp` is required: a validly signed token without one would never expire.
  const verifier = createVerifier({ key: secret, algorithms: ['HS256'], requiredClaims: ['exp'] });
  const verified = new LRUCache<string, TokenClaims>({ max: VERIFIED_MAX });
  const tokens: Tokens = {
    directory,
    sign: ({ sub, role, ver }) => signer({ sub, role, ver }),
    verify: (token) => {
      const known = verified.get(token);
      // A copy: callers own the claims they get.
      if (known) return { ...known };
      let payload: { sub?: unknown; role?: unknown; ver?: unknown; exp?: unknown };
      try {
        payload = verifier(token);
      } catch (error) {
        const expired = error instanceof TokenError && error.code === TokenError.codes.expired;
        throw new DomainError(
          'unauthorized',
          expired ? 'the access token has expired' : 'the access token is not valid',
        );
      }
      const { sub, role, ver } = payload;
      if (typeof sub !== 'string' || !ROLES.includes(role as Role) || !Number.isSafeInteger(ver)) {
        throw new DomainError('unauthorized', 'the access token is not valid');
      }
      const claims: TokenClaims = { sub, role: role as Role, ver: ver as number };
      // Remembered until its exp at most.
      const ttl = Math.min(VERIFIED_TTL_MS, Number(payload.exp) * 1000 - Date.now());
      if (ttl > 0) verified.set(token, claims, { ttl });
      return { ...claims };
    },
  };
  app.decorate('tokens', tokens);
  // null keeps the request object's shape stable; requireRole sets it.
  app.decorateRequest('user', null as unknown as Principal);
}

const REVOKED =
  'the access token has been revoked (the user was changed, disabled or deleted); sign in again';

/** The principal of `claims` if the directory's `state` still backs them, else the reason it does not. */
function standing(claims: TokenClaims, state: PrincipalState | null): Principal | DomainError {
  if (!state || state.tokenVersion !== claims.ver || state.role !== claims.role) {
    return new DomainError('unauthorized', REVOKED);
  }
  return { sub: claims.sub, role: claims.role };
}

/**
 * Checks `claims` against the directory and calls `then` with the principal or the error:
 * synchronously when the directory's cache knows the principal (the hot path of a claim request
 * allocates no promise), after its lookup otherwise.
 */
function checkStanding(
  directory: PrincipalDirectory,
  claims: TokenClaims,
  then: (result: Principal | DomainError | Error) => void,
): void {
  const state = directory.lookup(claims.sub);
  if (state instanceof Promise) {
    state.then(
      (found) => then(standing(claims, found)),
      (error: Error) => then(error),
    );
  } else {
    then(standing(claims, state));
  }
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
 * An onRequest hook admitting a valid, standing token of one of `roles` (any role when empty) and
 * setting `request.user`. Callback-style, so a request whose principal is cached allocates no
 * promise here. Fails with DomainError `unauthorized` (401) or `forbidden` (403).
 */
export function requireRole(...roles: Role[]) {
  const forbidden = `this operation needs the role ${roles.join(' or ')}`;
  return (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    let claims: TokenClaims;
    try {
      claims = request.server.tokens.verify(bearerToken(request.headers.authorization));
    } catch (error) {
      done(error as Error);
      return;
    }
    // Standing first: a revoked token is 401 whatever route it calls, never a 403 that would
    // read as "signed in, not allowed".
    checkStanding(request.server.tokens.directory, claims, (result) => {
      if (result instanceof Error) {
        done(result);
        return;
      }
      if (roles.length > 0 && !roles.includes(result.role)) {
        done(new DomainError('forbidden', forbidden));
        return;
      }
      request.user = result;
      done();
    });
  };
}

/**
 * The principal of the request's bearer token, or undefined without a valid, standing one (for
 * public routes that show more to some roles). Does not set `request.user`.
 */
export async function optionalPrincipal(request: FastifyRequest): Promise<Principal | undefined> {
  const header = request.headers.authorization;
  if (!header) return undefined;
  let claims: TokenClaims;
  try {
    claims = request.server.tokens.verify(bearerToken(header));
  } catch {
    return undefined;
  }
  const result = standing(claims, await request.server.tokens.directory.lookup(claims.sub));
  return result instanceof Error ? undefined : result;
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
