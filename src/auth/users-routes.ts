/**
 * The users API (admin only) and the first-run setup:
 *
 * - `GET /v1/setup` → `{ needed }` (public): whether the installation still needs its first admin.
 * - `POST /v1/setup {token, email, password}` → 201 user: creates the first admin with the setup
 *   token `serve` printed (src/auth/setup.ts); 403 `invalid-setup-token`, 409 `setup-done`.
 * - `GET /v1/users?role&limit&cursor` → `{ items, nextCursor }`, newest first.
 * - `POST /v1/users {email, password, role}` → 201 user; 409 `email-taken`.
 * - `PATCH /v1/users/{id} {role?, password?, disabled?}` → 200 user.
 * - `DELETE /v1/users/{id}` → 204.
 *
 * The setup routes are public and rate-limited per client address (20 a minute). The last enabled admin cannot be demoted, disabled or deleted (409 `last-admin`), so an
 * installation never locks its operators out. A PATCH or DELETE takes the user's tokens back: its
 * refresh tokens are revoked in the same transaction, and its access tokens are refused by every
 * process within 5 s (at once in this one; src/auth/principals.ts).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../db/client.js';
import { decodeCursor, encodeCursor } from '../db/keyset.js';
import { DomainError } from '../errors.js';
import { requireRole } from '../http/auth.js';
import { requestLimit } from '../http/rate-limit.js';
import { Email, Password, ProblemResponses, Uuid } from '../http/schemas.js';
import { hashPassword } from './passwords.js';
import { revokeUserRefreshTokens } from './refresh-tokens.js';
import { createFirstAdmin, isSetupToken, setupNeeded } from './setup.js';
import {
  deleteUser,
  findUserById,
  insertUser,
  listUsers,
  otherActiveAdminExists,
  type User,
  updateUser,
} from './users.js';

const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('service'), Type.Literal('user')], {
  description: 'admin (operator), service (shop backend) or user (end user)',
});

const UserSchema = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: RoleSchema,
  disabled: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
});

const UserPageSchema = Type.Object({
  items: Type.Array(UserSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'cursor of the next page, or null' }),
});

const IdParams = Type.Object({ id: Uuid });

/** The public setup routes answer a client address at most this often per minute (429 after). */
const SETUP_REQUESTS_PER_MINUTE = 20;

function userJson(user: User) {
  return {
    id: user.id,
    email: user.email,
    role: user.role,
    disabled: user.disabledAt !== null,
    createdAt: user.createdAt.toISOString(),
  };
}

export interface UserRouteOptions {
  db: Db;
  /** Told after a committed change to a user, so its access tokens stop working. */
  principals: { changed(userId: string): Promise<void> };
  /** The installation's JWT secret, from which the setup token is derived. */
  jwtSecret: string;
}

export async function userRoutes(
  app: FastifyInstance,
  { db, jwtSecret, principals }: UserRouteOptions,
): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const setupLimit = requestLimit(app, {
    max: SETUP_REQUESTS_PER_MINUTE,
    windowMs: 60_000,
    key: (request) => `setup:ip:${request.ip}`,
    what: 'setup requests per address',
  });

  api.get(
    '/v1/setup',
    {
      preHandler: setupLimit,
      schema: {
        tags: ['users'],
        summary: 'Whether the installation still needs its first admin',
        response: { 200: Type.Object({ needed: Type.Boolean() }), ...ProblemResponses },
      },
    },
    async () => ({ needed: await setupNeeded(db) }),
  );

  api.post(
    '/v1/setup',
    {
      preHandler: setupLimit,
      schema: {
        tags: ['users'],
        summary: 'Create the first admin with the setup token printed by `stampede serve`',
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 200 }), email: Email, password: Password },
          { additionalProperties: false },
        ),
        response: { 201: UserSchema, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const { token, email, password } = request.body;
      if (!(await setupNeeded(db))) throw new DomainError('setup-done');
      if (!isSetupToken(jwtSecret, token)) throw new DomainError('invalid-setup-token');
      const admin = await createFirstAdmin(db, { email, passwordHash: await hashPassword(password) });
      if (!admin) throw new DomainError('setup-done');
      request.log.info({ user: admin.id }, 'first admin created through /v1/setup');
      return reply.code(201).send(userJson(admin));
    },
  );

  api.get(
    '/v1/users',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['users'],
        summary: 'List accounts, newest first (keyset pagination)',
        security: [{ bearer: [] }],
        querystring: Type.Object({
          role: Type.Optional(RoleSchema),
          limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
          cursor: Type.Optional(Type.String({ maxLength: 200 })),
        }),
        response: { 200: UserPageSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const { role, limit } = request.query;
      const page = await listUsers(db, { role, limit, after: decodeCursor(request.query.cursor) });
      return { items: page.items.map(userJson), nextCursor: page.next && encodeCursor(page.next) };
    },
  );

  api.post(
    '/v1/users',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['users'],
        summary: 'Create an account of any role',
        security: [{ bearer: [] }],
        body: Type.Object(
          { email: Email, password: Password, role: RoleSchema },
          { additionalProperties: false },
        ),
        response: { 201: UserSchema, ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const { email, password, role } = request.body;
      const user = await insertUser(db, { email, role, passwordHash: await hashPassword(password) });
      if (!user) throw new DomainError('email-taken');
      return reply.code(201).header('location', `/v1/users/${user.id}`).send(userJson(user));
    },
  );

  api.patch(
    '/v1/users/:id',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['users'],
        summary: "Change an account's role or password, or disable / enable it",
        security: [{ bearer: [] }],
        params: IdParams,
        body: Type.Object(
          {
            role: Type.Optional(RoleSchema),
            password: Type.Optional(Password),
            disabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: UserSchema, ...ProblemResponses },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { role, password, disabled } = request.body;
      const user = await findUserById(db, id);
      if (!user) throw new DomainError('not-found', `user ${id} does not exist`);
      const losesAdmin =
        user.role === 'admin' && ((role !== undefined && role !== 'admin') || disabled === true);
      if (losesAdmin) await keepOneAdmin(id);
      const passwordHash = password === undefined ? undefined : await hashPassword(password);
      const updated = await db.transaction(async (tx) => {
        const changed = await updateUser(tx, id, { role, disabled, passwordHash });
        if (changed) await revokeUserRefreshTokens(tx, id);
        return changed;
      });
      if (!updated) throw new DomainError('not-found', `user ${id} does not exist`);
      await principals.changed(id);
      return userJson(updated);
    },
  );

  api.delete(
    '/v1/users/:id',
    {
      onRequest: requireRole('admin'),
      schema: {
        tags: ['users'],
        summary: 'Delete an account',
        security: [{ bearer: [] }],
        params: IdParams,
        response: { 204: Type.Null(), ...ProblemResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const user = await findUserById(db, id);
      if (!user) throw new DomainError('not-found', `user ${id} does not exist`);
      if (user.role === 'admin') await keepOneAdmin(id);
      // Its refresh tokens go with it (ON DELETE CASCADE).
      await deleteUser(db, id);
      await principals.changed(id);
      return reply.code(204).send(null);
    },
  );

  /** @throws DomainError `last-admin` when `id` is the only enabled admin. */
  async function keepOneAdmin(id: string): Promise<void> {
    if (!(await otherActiveAdminExists(db, id))) throw new DomainError('last-admin');
  }
}
