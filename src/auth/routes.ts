/**
 * Sessions:
 * - `POST /v1/auth/signup` (always role `user`) → 201 user.
 * - `POST /v1/auth/login {email, password}` → a short-lived bearer access token (JWT_TTL_SECONDS,
 *   15 min by default) and a refresh token (REFRESH_TOKEN_TTL_SECONDS); 403 `account-disabled` for
 *   an account an admin disabled, after the password matched.
 * - `POST /v1/auth/refresh {refreshToken}` → a new pair; the presented token is used up, and
 *   presenting it again revokes the session (src/auth/refresh-tokens.ts); 401 `unauthorized`.
 * - `POST /v1/auth/logout {refreshToken}` → 204, the session's refresh tokens revoked (the access
 *   token in hand expires on its own within its short lifetime).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../db/client.js';
import { DomainError } from '../errors.js';
import { Email, Password, ProblemResponses, Uuid } from '../http/schemas.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { issueRefreshToken, revokeRefreshFamily, rotateRefreshToken } from './refresh-tokens.js';
import { findUserByEmail, insertUser, type User } from './users.js';

const Credentials = Type.Object({ email: Email, password: Password }, { additionalProperties: false });

const UserSchema = Type.Object({ id: Uuid, email: Type.String(), role: Type.String() });

const TokenSchema = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'lifetime of the access token, seconds' }),
  refreshToken: Type.String({ description: 'exchange it at POST /v1/auth/refresh; usable once' }),
  refreshExpiresIn: Type.Integer({ description: 'lifetime of the refresh token, seconds' }),
  user: UserSchema,
});

const RefreshBody = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$' }) },
  { additionalProperties: false },
);

export interface AuthRouteOptions {
  db: Db;
  /** Access token lifetime, s (reported as `expiresIn`). */
  ttlSeconds: number;
  /** Refresh token lifetime, s. */
  refreshTtlSeconds: number;
}

export async function authRoutes(
  app: FastifyInstance,
  { db, ttlSeconds, refreshTtlSeconds }: AuthRouteOptions,
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const session = (user: User, refreshToken: string) => ({
    accessToken: app.tokens.sign({ sub: user.id, role: user.role, ver: user.tokenVersion }),
    tokenType: 'Bearer' as const,
    expiresIn: ttlSeconds,
    refreshToken,
    refreshExpiresIn: refreshTtlSeconds,
    user: { id: user.id, email: user.email, role: user.role },
  });

  api.post(
    '/v1/auth/signup',
    {
      schema: {
        tags: ['auth'],
        summary: 'Create a user account (role user)',
        body: Credentials,
        response: { 201: UserSchema, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const passwordHash = await hashPassword(request.body.password);
      const user = await insertUser(db, { email: request.body.email, passwordHash, role: 'user' });
      if (!user) throw new DomainError('email-taken');
      return reply.code(201).send({ id: user.id, email: user.email, role: user.role });
    },
  );

  api.post(
    '/v1/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange email and password for an access token',
        body: Credentials,
        response: { 200: TokenSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const user = await findUserByEmail(db, request.body.email);
      if (!(await verifyPassword(user?.passwordHash, request.body.password)) || !user) {
        throw new DomainError('invalid-credentials');
      }
      if (user.disabledAt) throw new DomainError('account-disabled');
      // The version read before the password check: a change meanwhile ends this session too.
      return session(user, await issueRefreshToken(db, user, refreshTtlSeconds));
    },
  );

  api.post(
    '/v1/auth/refresh',
    {
      schema: {
        tags: ['auth'],
        summary: 'Exchange a refresh token for a new access token and refresh token',
        body: RefreshBody,
        response: { 200: TokenSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const { user, refreshToken } = await rotateRefreshToken(
        db,
        request.body.refreshToken,
        refreshTtlSeconds,
      );
      return session(user, refreshToken);
    },
  );

  api.post(
    '/v1/auth/logout',
    {
      schema: {
        tags: ['auth'],
        summary: 'Revoke a session (its refresh tokens)',
        body: RefreshBody,
        response: { 204: Type.Null(), ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await revokeRefreshFamily(db, request.body.refreshToken);
      return reply.code(204).send(null);
    },
  );
}
