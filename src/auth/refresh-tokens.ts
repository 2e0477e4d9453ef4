/**
 * Rotating refresh tokens (OAuth 2.0 Security Best Current Practice, section "Refresh Token
 * Protection": https://datatracker.ietf.org/doc/html/draft-ietf-oauth-security-topics).
 *
 * A refresh token is `rt_` + 32 random bytes in base64url (256 bits: guessing is hopeless, so a
 * plain SHA-256 is the right stored form; a slow KDF would only cost CPU). Login starts a family;
 * each refresh marks the presented token used and issues the next token of the family, in one
 * transaction. Presenting a used token again means it was copied: the whole family is revoked, so
 * the thief and the owner both have to sign in again. Logout revokes the family; any change to the
 * user (role, password, disable) revokes all of the user's tokens; deleting the user deletes them.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { refreshTokens } from '../db/schema.js';
import { DomainError } from '../errors.js';
import { findUserById, type User } from './users.js';

const PREFIX = 'rt_';

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Stores a new refresh token for `user` (its id, and its token version as read when the session
 * began), valid `ttlSeconds`, in `familyId` (a new family when omitted), and returns the token
 * (shown to the client once, never stored).
 */
export async function issueRefreshToken(
  db: Db,
  user: { id: string; tokenVersion: number },
  ttlSeconds: number,
  familyId: string = randomUUID(),
): Promise<string> {
  const token = PREFIX + randomBytes(32).toString('base64url');
  await db.insert(refreshTokens).values({
    userId: user.id,
    familyId,
    tokenHash: hashOf(token),
    tokenVersion: user.tokenVersion,
    expiresAt: sql`now() + make_interval(secs => ${ttlSeconds})`,
  });
  return token;
}

const INVALID = 'the refresh token is not valid (expired, revoked or unknown); sign in again';

/**
 * Exchanges `token` for the next token of its family and returns it with the user, whose current
 * role and token version the new access token must carry.
 * @throws DomainError `unauthorized` when the token is unknown, expired, revoked or already used
 *   (then its whole family is revoked), or its user is disabled.
 */
export async function rotateRefreshToken(
  db: Db,
  token: string,
  ttlSeconds: number,
): Promise<{ user: User; refreshToken: string }> {
  const tokenHash = hashOf(token);
  const rotated = await db.transaction(async (tx) => {
    // The conditional UPDATE is the guard: of two concurrent uses of one token, exactly one
    // marks it used; the other finds no row and is treated as a reuse below. A family with any
    // revoked token is dead as a whole: a token issued by a rotation racing the revocation
    // (invisible to the revoking statement's snapshot) cannot refresh either.
    const used = await tx
      .update(refreshTokens)
      .set({ usedAt: sql`now()` })
      .where(
        and(
          eq(refreshTokens.tokenHash, tokenHash),
          isNull(refreshTokens.usedAt),
          isNull(refreshTokens.revokedAt),
          gt(refreshTokens.expiresAt, sql`now()`),
          sql`NOT EXISTS (SELECT 1 FROM refresh_tokens f
                          WHERE f.family_id = ${refreshTokens.familyId} AND f.revoked_at IS NOT NULL)`,
        ),
      )
      .returning({
        userId: refreshTokens.userId,
        familyId: refreshTokens.familyId,
        tokenVersion: refreshTokens.tokenVersion,
      });
    const row = used[0];
    if (!row) return undefined;
    const user = await findUserById(tx, row.userId);
    // A change to the user since the session began (role, password, disable) ends it, even when
    // the token was issued after the change's revocation ran.
    if (!user || user.disabledAt || user.tokenVersion !== row.tokenVersion) return undefined;
    return { user, refreshToken: await issueRefreshToken(tx, user, ttlSeconds, row.familyId) };
  });
  if (rotated) return rotated;
  // A token that was used before is being replayed: take the whole family back.
  await revokeFamilyOf(db, tokenHash, sql`AND used_at IS NOT NULL`);
  throw new DomainError('unauthorized', INVALID);
}

/**
 * Revokes the family of the token whose hash is `tokenHash` (nothing when no token matches, or
 * when `condition`, more SQL on that token's row, excludes it).
 */
async function revokeFamilyOf(db: Db, tokenHash: string, condition = sql``): Promise<void> {
  await db
    .update(refreshTokens)
    .set({ revokedAt: sql`now()` })
    .where(
      and(
        isNull(refreshTokens.revokedAt),
        sql`${refreshTokens.familyId} = (SELECT family_id FROM refresh_tokens WHERE token_hash = ${tokenHash} ${condition})`,
      ),
    );
}

/** Revokes the family of `token` (logout). An unknown token changes nothing. */
export async function revokeRefreshFamily(db: Db, token: string): Promise<void> {
  await revokeFamilyOf(db, hashOf(token));
}

/** Revokes every refresh token of `userId` (after a change to the user). */
export async function revokeUserRefreshTokens(db: Db, userId: string): Promise<void> {
  await db
    .update(refreshTokens)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
}
