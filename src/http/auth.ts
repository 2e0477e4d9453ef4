/**
 * Authentication and authorization for routes.
 *
 * Access tokens are HS256 JWTs (@fastify/jwt) with `sub` = user id and `role`. Routes declare
 * who may call them with `onRequest: requireRole(...)`; the verified principal is then
 * `request.user`. A token that is missing, expired, forged or malformed gets 401 `unauthorized`;
 * a valid token of the wrong role gets 403 `forbidden`.
 */
import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ROLES, type Role } from '../auth/users.js';
import { DomainError } from '../errors.js';

export interface Principal {
  sub: string;
  role: Role;
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: Principal;
    user: Principal;
  }
}

const JWT_MESSAGES: Record<string, string> = {
  FST_JWT_NO_AUTHORIZATION_IN_HEADER: 'missing Authorization: Bearer <token> header',
  FST_JWT_AUTHORIZATION_TOKEN_EXPIRED: 'the access token has expired',
  FST_JWT_BAD_REQUEST: 'the Authorization header is not of the form Bearer <token>',
};

/** Registers JWT signing and verification (HS256 only). `ttlSeconds` is the token lifetime. */
export async function registerAuth(app: FastifyInstance, secret: string, ttlSeconds: number): Promise<void> {
  await app.register(fastifyJwt, {
    secret,
    sign: { algorithm: 'HS256', expiresIn: ttlSeconds },
    verify: { algorithms: ['HS256'] },
  });
}

/** A preHandler admitting a valid token of one of `roles` (any role when empty). */
export function requireRole(...roles: Role[]) {
  return async (request: FastifyRequest): Promise<void> => {
    try {
      await request.jwtVerify();
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      throw new DomainError('unauthorized', JWT_MESSAGES[code] ?? 'the access token is not valid');
    }
    const { sub, role } = request.user ?? {};
    if (typeof sub !== 'string' || !ROLES.includes(role)) {
      throw new DomainError('unauthorized', 'the access token is not valid');
    }
    if (roles.length > 0 && !roles.includes(role)) {
      throw new DomainError('forbidden', `this operation needs the role ${roles.join(' or ')}`);
    }
  };
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
