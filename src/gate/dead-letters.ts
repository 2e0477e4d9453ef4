/**
 * Dead letters of the redis-gate pipeline: listing them and putting them back into their
 * campaign's stream (`stampede dead-letters list|retry`).
 *
 * Retry order: the claim is queued again first (requeueClaim.lua), then its row is deleted — a
 * crash in between leaves it both queued and dead-lettered (persisted once, reported once by
 * reconcile until the row is deleted by a second retry), never lost.
 */
import { and, asc, eq, getTableColumns, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import type { KeysetPosition } from '../db/keyset.js';
import { deadLetters } from '../db/schema.js';
import type { RedisConnection } from '../redis/connection.js';
import { runScript } from '../redis/scripts.js';
import type { GateLoader } from './loader.js';
import { GATE_SCRIPTS, requeueClaimArgs } from './scripts.js';

/** A dead letter as listed: its row without the raw stream entry (`entryId`, `fields`). */
export type DeadLetter = Omit<typeof deadLetters.$inferSelect, 'entryId' | 'fields'>;

const { entryId: _entryId, fields: _fields, ...LISTED_COLUMNS } = getTableColumns(deadLetters);

/** Dead letters, oldest first; of one campaign when `campaignId` is given. */
export async function listDeadLetters(
  db: Db,
  options: { campaignId?: string | undefined; limit?: number } = {},
): Promise<DeadLetter[]> {
  return db
    .select(LISTED_COLUMNS)
    .from(deadLetters)
    .where(options.campaignId === undefined ? undefined : eq(deadLetters.campaignId, options.campaignId))
    .orderBy(asc(deadLetters.createdAt), asc(deadLetters.id))
    .limit(options.limit ?? 1000);
}

/**
 * One page of dead letters, newest first by (created_at, id), strictly after `after` (of one
 * campaign when `campaignId` is given: dead_letters_campaign_idx read backwards), and the
 * position of the last one when the page is full.
 */
export async function pageDeadLetters(
  db: Db,
  options: { campaignId?: string | undefined; limit: number; after?: KeysetPosition | undefined },
): Promise<{ items: DeadLetter[]; next: KeysetPosition | null }> {
  const { campaignId, limit, after } = options;
  const rows = await db
    .select({ ...LISTED_COLUMNS, cursorAt: sql<string>`${deadLetters.createdAt}::text` })
    .from(deadLetters)
    .where(
      and(
        campaignId === undefined ? undefined : eq(deadLetters.campaignId, campaignId),
        after
          ? sql`(${deadLetters.createdAt}, ${deadLetters.id}) < (${after.at}::timestamptz, ${after.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(sql`${deadLetters.createdAt} DESC, ${deadLetters.id} DESC`)
    .limit(limit);
  const last = rows.length === limit ? rows[rows.length - 1] : undefined;
  return {
    items: rows.map(({ cursorAt: _, ...letter }) => letter),
    next: last ? { at: last.cursorAt, id: last.id } : null,
  };
}

/** The dead letter `id`, or undefined. */
export async function findDeadLetter(db: Db, id: string): Promise<DeadLetter | undefined> {
  const rows = await db.select(LISTED_COLUMNS).from(deadLetters).where(eq(deadLetters.id, id)).limit(1);
  return rows[0];
}

/** Whether a letter holds a whole claim (not a malformed entry), so that a retry can queue it again. */
export function isRetryable(
  letter: DeadLetter,
): letter is DeadLetter & { claimId: string; userId: string; userSlot: number; admittedAt: Date } {
  return Boolean(letter.claimId && letter.userId && letter.userSlot !== null && letter.admittedAt);
}

/**
 * Queues dead letters again and deletes their rows. Letters without a complete claim (malformed
 * entries, see {@link isRetryable}) are skipped: there is nothing a worker could persist.
 * @returns ids of the letters requeued and of those skipped.
 */
export async function retryDeadLetters(
  db: Db,
  redis: RedisConnection,
  loader: GateLoader,
  letters: DeadLetter[],
): Promise<{ requeued: string[]; skipped: string[] }> {
  const requeued: string[] = [];
  const skipped: string[] = [];
  for (const letter of letters) {
    if (!isRetryable(letter)) {
      skipped.push(letter.id);
      continue;
    }
    // The stream exists once the gate is loaded (loading counts this letter as admitted).
    await loader.ensureLoaded(letter.campaignId);
    const queued = await runScript<number>(
      redis.client,
      GATE_SCRIPTS.requeueClaim,
      requeueClaimArgs(redis.keys.campaign(letter.campaignId), {
        claimId: letter.claimId,
        userId: letter.userId,
        userSlot: letter.userSlot,
        admittedMs: letter.admittedAt.getTime(),
        campaignId: letter.campaignId,
        position: letter.position ?? 0,
      }),
    );
    if (queued !== 1) {
      skipped.push(letter.id);
      continue;
    }
    await db.delete(deadLetters).where(eq(deadLetters.id, letter.id));
    requeued.push(letter.id);
  }
  return { requeued, skipped };
}
