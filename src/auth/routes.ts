/**
 * `POST /v1/auth/signup` (always role `user`) and `POST /v1/auth/login` → a bearer access token
 * (403 `account-disabled` for an account an admin disabled, after the password matched).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../db/client.js';
import { DomainError } from '../errors.js';
import { ProblemResponses, Uuid } from '../http/schemas.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { findUserByEmail, insertUser } from './users.js';

const Credentials = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 254 }),
    password: Type.String({ minLength: 8, maxLength: 256, description: 'at least 8 characters' }),
  },
  { additionalProperties: false },
);

const UserSchema = Type.Object({ id: Uuid, email: Type.String(), role: Type.String() });

const TokenSchema = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'seconds' }),
  user: UserSchema,
});

export interface AuthRouteOptions {
  db: Db;
  /** Access token lifetime, s (reported as `expiresIn`). */
  ttlSeconds: number;
}

export async function authRoutes(app: FastifyInstance, { db, ttlSeconds }: AuthRouteOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

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
      const accessToken = app.tokens.sign({ sub: user.id, role: user.role });
      return {
        accessToken,
        tokenType: 'Bearer' as const,
        expiresIn: ttlSeconds,
        user: { id: user.id, email: user.email, role: user.role },
      };
    },
  );
}
