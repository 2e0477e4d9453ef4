/**
 * Archival (seed 004's batch): campaigns soft-deleted longer than ARCHIVE_AFTER move, with their
 * coupons and redemptions, from the live tables into the archive tables, in batches of 1,000
 * rows, one transaction each (src/archive/repository.ts). Resumable and idempotent: a run that
 * crashes leaves every row in exactly one place, and the next run moves what is left.
 *
 * Each run is recorded as a job (`kind = 'archive'`, `GET /v1/jobs/{id}`); a unique index lets
 * only one run at a time across processes. A run whose process died is marked failed by the next
 * run, which then does the remaining work itself.
 */
import type { Db } from '../db/client.js';
import { failJob, failStaleJobs, finishJob, insertJob, setJobProgress } from '../jobs/store.js';
import {
  type ArchiveTable,
  type CouponPosition,
  copyToArchive,
  deleteRows,
  dueCampaigns,
  lockDueCampaign,
  nextBatch,
  rowsToArchive,
} from './repository.js';

export const ARCHIVE_JOB_KIND = 'archive';

/** What a run moved (or, for a dry run, would move). */
export interface ArchiveReport {
  dryRun: boolean;
  /** Set when another run was in progress and this one did nothing. */
  skipped?: 'already-running';
  jobId?: string;
  campaigns: number;
  rows: Record<ArchiveTable, number>;
}

/** One batch, as seen by {@link ArchiveOptions.beforeCommit}. */
export interface ArchiveBatch {
  table: ArchiveTable;
  campaignId: string;
  ids: string[];
}

export interface ArchiveOptions {
  /** Archive campaigns deleted more than this many seconds ago (ARCHIVE_AFTER). */
  afterSeconds: number;
  /** Count what would move, move nothing. */
  dryRun?: boolean;
  /** Called after each committed batch with rows moved so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Called inside each batch's transaction after the copy and before the delete; throwing there
   * rolls the batch back. The fault-injection point of the crash tests.
   */
  beforeCommit?: (batch: ArchiveBatch) => void | Promise<void>;
}

const TABLES: readonly ArchiveTable[] = ['redemptions', 'coupons', 'campaigns'];

/** Runs one archival. @throws whatever a batch throws (the job is then marked failed). */
export async function runArchive(db: Db, options: ArchiveOptions): Promise<ArchiveReport> {
  const campaignIds = await dueCampaigns(db, options.afterSeconds);
  const rows = await rowsToArchive(db, campaignIds);
  const total = rows.redemptions + rows.coupons + rows.campaigns;
  if (options.dryRun) return { dryRun: true, campaigns: campaignIds.length, rows };

  await failStaleJobs(db, ARCHIVE_JOB_KIND, 'the process running this archival stopped');
  const job = await insertJob(db, {
    kind: ARCHIVE_JOB_KIND,
    params: { afterSeconds: options.afterSeconds },
    total,
  });
  if (!job) {
    return {
      dryRun: false,
      skipped: 'already-running',
      campaigns: 0,
      rows: { redemptions: 0, coupons: 0, campaigns: 0 },
    };
  }
  const moved: Record<ArchiveTable, number> = { redemptions: 0, coupons: 0, campaigns: 0 };
  let done = 0;
  try {
    for (const campaignId of campaignIds) {
      for (const table of TABLES) {
        let after: CouponPosition | undefined;
        for (;;) {
          const batch = await moveBatch(db, table, campaignId, options, after);
          if (!batch) break;
          after = batch.last;
          moved[table] += batch.count;
          done += batch.count;
          await setJobProgress(db, job.id, done);
          options.onProgress?.(done, total);
        }
      }
    }
  } catch (error) {
    await failJob(db, job.id, error).catch(() => {});
    throw error;
  }
  const report: ArchiveReport = { dryRun: false, jobId: job.id, campaigns: moved.campaigns, rows: moved };
  await finishJob(db, job.id, report);
  return report;
}

/** Moves one batch in one transaction; undefined when nothing is left (or the campaign was restored). */
async function moveBatch(
  db: Db,
  table: ArchiveTable,
  campaignId: string,
  options: ArchiveOptions,
  after: CouponPosition | undefined,
): Promise<{ count: number; last?: CouponPosition } | undefined> {
  return db.transaction(async (tx) => {
    if (!(await lockDueCampaign(tx, campaignId, options.afterSeconds))) return undefined;
    const batch = await nextBatch(tx, table, campaignId, after);
    if (batch.ids.length === 0) return undefined;
    await copyToArchive(tx, table, campaignId, batch.ids);
    await options.beforeCommit?.({ table, campaignId, ids: batch.ids });
    await deleteRows(tx, table, batch.ids);
    return { count: batch.ids.length, ...(batch.last ? { last: batch.last } : {}) };
  });
}
