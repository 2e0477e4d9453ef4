/**
 * Campaigns repository: plain functions taking the database (or a transaction) first.
 * Soft-deleted campaigns are invisible to every function here.
 */
import { and, desc, eq, getTableColumns, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import type { KeysetPosition } from '../db/keyset.js';
import { campaigns } from '../db/schema.js';
import {
  type Campaign,
  type CampaignStatus,
  type CouponValidity,
  campaignFromRow,
  type Discount,
  discountColumns,
  statusesLeadingTo,
  validityColumns,
} from './model.js';

export interface NewCampaign {
  name: string;
  status: 'draft' | 'active';
  totalQuantity: number;
  perUserLimit: number;
  startsAt: Date | null;
  endsAt: Date | null;
  couponValidity: CouponValidity | null;
  discount: Discount;
  minOrderAmount: number | null;
  /** Spend budget, minor units; null or absent = unlimited. */
  budget?: number | null;
}

export async function insertCampaign(db: Db, input: NewCampaign): Promise<Campaign> {
  const rows = await db
    .insert(campaigns)
    .values({
      name: input.name,
      status: input.status,
      totalQuantity: input.totalQuantity,
      perUserLimit: input.perUserLimit,
      startsAt: input.startsAt,
      endsAt: input.endsAt,
      minOrderAmount: input.minOrderAmount,
      budget: input.budget ?? null,
      ...discountColumns(input.discount),
      ...validityColumns(input.couponValidity),
    })
    .returning();
  return campaignFromRow(rows[0]!);
}

const visible = isNull(campaigns.deletedAt);

/**
 * `updated_at` of a write: the time the row is actually updated (after waiting for its lock, unlike
 * `now()`, the transaction start), and at least 1 ms after the previous write. So updatedAt in ms
 * strictly increases in commit order per campaign, and caches and the gate use it as a version.
 */
const nextVersion =
  sql`greatest(clock_timestamp(), ${campaigns.updatedAt} + interval '1 millisecond')` as unknown as Date;

export async function findCampaign(db: Db, id: string): Promise<Campaign | undefined> {
  const rows = await db
    .select()
    .from(campaigns)
    .where(and(eq(campaigns.id, id), visible))
    .limit(1);
  return rows[0] && campaignFromRow(rows[0]);
}

/**
 * `text` as a LIKE pattern matching itself only: `\`, `%` and `_` escaped with `\` (the default
 * ESCAPE character of PostgreSQL's LIKE, https://www.postgresql.org/docs/current/functions-matching.html).
 */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/** Filters of the campaign list: a status, and `q`, a case-insensitive part of the name. */
export interface CampaignListFilters {
  status?: CampaignStatus | undefined;
  q?: string | undefined;
}

/**
 * Up to `limit` campaigns, newest first by (created_at, id), strictly after `after`, and the
 * position of the last one when the page is full (the next page starts after it). With `q`, the
 * scan of campaigns_created_idx checks each name with ILIKE: campaigns are few (hundreds), a
 * trigram index would cost every write for no gain at that size.
 */
export async function listCampaigns(
  db: Db,
  options: { limit: number; after?: KeysetPosition | undefined } & CampaignListFilters,
): Promise<{ items: Campaign[]; next: KeysetPosition | null }> {
  const { limit, after, status, q } = options;
  const rows = await db
    .select({ ...getTableColumns(campaigns), cursorAt: sql<string>`${campaigns.createdAt}::text` })
    .from(campaigns)
    .where(
      and(
        visible,
        status ? eq(campaigns.status, status) : undefined,
        q ? sql`${campaigns.name} ILIKE ${`%${likeLiteral(q)}%`}` : undefined,
        after
          ? sql`(${campaigns.createdAt}, ${campaigns.id}) < (${after.at}::timestamptz, ${after.id}::uuid)`
          : undefined,
      ),
    )
    // NULLS LAST matches campaigns_created_idx; a bare DESC (NULLS FIRST) would force a sort.
    .orderBy(sql`${campaigns.createdAt} DESC NULLS LAST, ${campaigns.id} DESC NULLS LAST`)
    .limit(limit);
  const last = rows.length === limit ? rows[rows.length - 1] : undefined;
  return {
    items: rows.map(({ cursorAt: _, ...row }) => campaignFromRow(row)),
    next: last ? { at: last.cursorAt, id: last.id } : null,
  };
}

export interface CampaignChanges {
  name?: string | undefined;
  status?: CampaignStatus | undefined;
  totalQuantity?: number | undefined;
  startsAt?: Date | null | undefined;
  endsAt?: Date | null | undefined;
  budget?: number | null | undefined;
}

/**
 * Applies `changes` in one conditional UPDATE: the status moves only from a status allowed by
 * STATUS_TRANSITIONS, and the CHECK constraints reject a stock below `issuedCount`, a budget
 * below `redeemedAmount` or an unordered window (the caller maps those SQLSTATEs). Returns undefined when no row matched
 * (unknown id, deleted, or a transition not allowed from the current status).
 */
export async function updateCampaign(
  db: Db,
  id: string,
  changes: CampaignChanges,
): Promise<Campaign | undefined> {
  const set: Partial<typeof campaigns.$inferInsert> = { updatedAt: nextVersion };
  if (changes.name !== undefined) set.name = changes.name;
  if (changes.status !== undefined) set.status = changes.status;
  if (changes.totalQuantity !== undefined) set.totalQuantity = changes.totalQuantity;
  if (changes.startsAt !== undefined) set.startsAt = changes.startsAt;
  if (changes.endsAt !== undefined) set.endsAt = changes.endsAt;
  if (changes.budget !== undefined) set.budget = changes.budget;
  const rows = await db
    .update(campaigns)
    .set(set)
    .where(
      and(
        eq(campaigns.id, id),
        visible,
        // Setting the current status again is an idempotent no-op, not an invalid transition.
        changes.status
          ? inArray(campaigns.status, [changes.status, ...statusesLeadingTo(changes.status)])
          : undefined,
      ),
    )
    .returning();
  return rows[0] && campaignFromRow(rows[0]);
}

/**
 * The stock and issued count of campaign `id`, its row locked until the transaction ends (so no
 * claim moves them meanwhile); undefined when unknown.
 */
export async function lockCampaignStock(
  db: Db,
  id: string,
): Promise<{ issuedCount: number; totalQuantity: number } | undefined> {
  const rows = await db
    .select({ issuedCount: campaigns.issuedCount, totalQuantity: campaigns.totalQuantity })
    .from(campaigns)
    .where(eq(campaigns.id, id))
    .for('update');
  return rows[0];
}

/** Soft-deletes a campaign; returns it, or undefined when unknown or already deleted. */
export async function softDeleteCampaign(db: Db, id: string): Promise<Campaign | undefined> {
  const rows = await db
    .update(campaigns)
    .set({ deletedAt: sql`now()` as unknown as Date, updatedAt: nextVersion })
    .where(and(eq(campaigns.id, id), visible))
    .returning();
  return rows[0] && campaignFromRow(rows[0]);
}

/**
 * Remaining stock (total − issued, coupons) of every visible active campaign, for the
 * `stampede_campaign_remaining_stock` gauge; at most `limit` rows, newest first, so a scrape stays
 * small however many campaigns exist.
 */
export async function activeCampaignStock(
  db: Db,
  limit = 200,
): Promise<{ campaignId: string; remaining: number }[]> {
  return db
    .select({
      campaignId: campaigns.id,
      remaining: sql<number>`${campaigns.totalQuantity} - ${campaigns.issuedCount}`.mapWith(Number),
    })
    .from(campaigns)
    .where(and(eq(campaigns.status, 'active'), visible))
    .orderBy(desc(campaigns.createdAt))
    .limit(limit);
}

/**
 * Undoes a soft delete made less than `retentionSeconds` ago (after that the campaign is due for
 * archival); returns the campaign, or undefined when no deleted campaign in retention matched.
 */
export async function restoreCampaign(
  db: Db,
  id: string,
  retentionSeconds: number,
): Promise<Campaign | undefined> {
  const rows = await db
    .update(campaigns)
    .set({ deletedAt: null, updatedAt: nextVersion })
    .where(
      and(
        eq(campaigns.id, id),
        sql`${campaigns.deletedAt} > now() - make_interval(secs => ${retentionSeconds})`,
      ),
    )
    .returning();
  return rows[0] && campaignFromRow(rows[0]);
}

/** Whether a campaign row exists at all, deleted or not (not yet archived). */
export async function campaignRowExists(db: Db, id: string): Promise<boolean> {
  const rows = await db.select({ id: campaigns.id }).from(campaigns).where(eq(campaigns.id, id)).limit(1);
  return rows.length === 1;
}
