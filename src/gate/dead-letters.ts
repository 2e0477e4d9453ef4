/**
 * Dead letters of the redis-gate pipeline: listing them and putting them back into their
 * campaign's stream (`stampede dead-letters list|retry`).
 *
 * Retry order: the claim is queued again first (requeueClaim.lua), then its row is deleted — a
 * crash in between leaves it both queued and dead-lettered (persisted once, reported once by
 * reconcile until the row is deleted by a second retry), never lost.
 */
import { sql } from 'drizzle-orm';
import { asDateOrNull, type Db, queryRows } from '../db/client.js';
import type { RedisConnection } from '../redis/connection.js';
import { runScript } from '../redis/scripts.js';
import type { GateLoader } from './loader.js';
import { GATE_SCRIPTS, requeueClaimArgs } from './scripts.js';

export interface DeadLetter {
  id: string;
  claimId: string | null;
  campaignId: string;
  userId: string | null;
  userSlot: number | null;
  admittedAt: Date | null;
  position: number | null;
  deliveries: number;
  error: string;
  createdAt: Date;
}

interface DeadLetterRow {
  id: string;
  claim_id: string | null;
  campaign_id: string;
  user_id: string | null;
  user_slot: number | null;
  admitted_at: string | Date | null;
  position: number | null;
  deliveries: number;
  error: string;
  created_at: string | Date;
}

/** Dead letters, oldest first; of one campaign when `campaignId` is given. */
export async function listDeadLetters(
  db: Db,
  options: { campaignId?: string | undefined; limit?: number } = {},
): Promise<DeadLetter[]> {
  const rows = await queryRows<DeadLetterRow>(
    db,
    sql`SELECT id, claim_id, campaign_id, user_id, user_slot, admitted_at, position, deliveries, error, created_at
        FROM dead_letters
        WHERE ${options.campaignId ?? null}::uuid IS NULL OR campaign_id = ${options.campaignId ?? null}::uuid
        ORDER BY created_at, id LIMIT ${options.limit ?? 1000}`,
  );
  return rows.map((row) => ({
    id: row.id,
    claimId: row.claim_id,
    campaignId: row.campaign_id,
    userId: row.user_id,
    userSlot: row.user_slot,
    admittedAt: asDateOrNull(row.admitted_at),
    position: row.position,
    deliveries: row.deliveries,
    error: row.error,
    createdAt: asDateOrNull(row.created_at)!,
  }));
}

/**
 * Queues dead letters again and deletes their rows. Letters without a complete claim (malformed
 * entries) are skipped: there is nothing a worker could persist.
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
    if (!letter.claimId || !letter.userId || letter.userSlot === null || !letter.admittedAt) {
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
    await queryRows(db, sql`DELETE FROM dead_letters WHERE id = ${letter.id}`);
    requeued.push(letter.id);
  }
  return { requeued, skipped };
}
