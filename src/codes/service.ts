/**
 * Code generation use case: validate, check the stock, then insert batches of random codes until
 * `count` new codes exist, drawing again as many codes as collided with existing ones.
 *
 * Generated codes are owner-less coupons of the campaign (status `issued`, no user): they count
 * against the campaign's stock (`issued_count`), so a campaign never holds more coupons than its
 * total quantity, whichever way they were made. Each batch commits on its own; a run stopped
 * part-way keeps the codes of its committed batches and its job's `done` says how many
 * (src/jobs/store.ts), which is what lets a job resume.
 */
import type { Db } from '../db/client.js';
import { pgError, SQLSTATE } from '../db/client.js';
import { DomainError, invalidField } from '../errors.js';
import { assertCodeOptions, type CodeOptions } from './generator.js';
import { type CodeBatch, insertCodeBatch, prepareCodeBatch, remainingStock } from './repository.js';

/** Codes per INSERT statement (and per transaction). */
export const CODE_BATCH_SIZE = 10_000;
/** The most codes one request may ask for. */
export const MAX_CODES_PER_REQUEST = 10_000_000;
/** Requests up to this count run synchronously; larger ones become a job. */
export const SYNC_CODES_LIMIT = 10_000;
/** Consecutive batches that may insert nothing before the code space is declared exhausted. */
const MAX_EMPTY_BATCHES = 5;

export interface GenerateRequest {
  campaignId: string;
  count: number;
  options: CodeOptions;
}

/**
 * Validates a request: count within 1..{@link MAX_CODES_PER_REQUEST}, code options, and a
 * campaign that exists with enough stock left.
 * @throws DomainError `validation-failed` (naming the field) or `not-found`.
 */
export async function checkGenerateRequest(db: Db, request: GenerateRequest): Promise<void> {
  if (!Number.isInteger(request.count) || request.count < 1 || request.count > MAX_CODES_PER_REQUEST) {
    throw invalidField('body/count', `must be an integer from 1 to ${MAX_CODES_PER_REQUEST}`);
  }
  assertCodeOptions(request.options, request.count);
  const remaining = await remainingStock(db, request.campaignId);
  if (remaining === undefined)
    throw new DomainError('not-found', `campaign ${request.campaignId} does not exist`);
  if (request.count > remaining) {
    throw invalidField('body/count', `exceeds the campaign's remaining stock of ${remaining}`);
  }
}

/**
 * Batches in flight at once. Two statements overlap on PostgreSQL (one backend each: one inserts
 * while the other commits, and this thread generates codes meanwhile); their only common row is
 * the campaign's, locked by the short `issued_count` update at the end of each statement. PGlite
 * runs them one after the other.
 */
export const CODE_BATCH_CONCURRENCY = 2;

/**
 * Inserts `count` new codes in batches of {@link CODE_BATCH_SIZE}, {@link CODE_BATCH_CONCURRENCY}
 * at a time.
 * @param progress.jobId advanced in each batch's transaction when given.
 * @param progress.onBatch called after each committed batch with the codes made so far.
 * @param progress.signal stops the run between batches.
 * @param progress.concurrency batches in flight (default {@link CODE_BATCH_CONCURRENCY}).
 * @returns the number of codes inserted (less than `count` only when stopped by `signal`).
 * @throws DomainError `sold-out` when the stock ran out meanwhile (claims took it),
 *   `not-found` when the campaign was deleted meanwhile, `internal` when the code space is exhausted.
 */
export async function generateCampaignCodes(
  db: Db,
  request: GenerateRequest,
  progress: {
    jobId?: string;
    onBatch?: (done: number) => void;
    signal?: AbortSignal;
    concurrency?: number;
  } = {},
): Promise<number> {
  let done = 0;
  // Codes in committed or in-flight batches; a batch gives back what collided, which a later
  // batch (of any lane) then draws again.
  let planned = 0;
  let emptyBatches = 0;
  let failed = false;

  const lane = async (): Promise<void> => {
    while (!failed && !progress.signal?.aborted) {
      const size = Math.min(CODE_BATCH_SIZE, request.count - planned);
      if (size <= 0) return;
      planned += size;
      const inserted = await insertBatch(
        db,
        request.campaignId,
        prepareCodeBatch(request.options, size),
        progress.jobId,
      );
      planned -= size - inserted;
      done += inserted;
      if (inserted === 0) {
        if ((await remainingStock(db, request.campaignId)) === undefined) {
          throw new DomainError('not-found', `campaign ${request.campaignId} was deleted`);
        }
        if (++emptyBatches >= MAX_EMPTY_BATCHES) {
          throw new DomainError('internal', 'the code space is exhausted: every new code collided');
        }
      } else {
        emptyBatches = 0;
      }
      progress.onBatch?.(done);
    }
  };
  const lanes = await Promise.allSettled(
    Array.from({ length: progress.concurrency ?? CODE_BATCH_CONCURRENCY }, () =>
      lane().catch((error: unknown) => {
        failed = true;
        throw error;
      }),
    ),
  );
  const rejected = lanes.find((result) => result.status === 'rejected');
  if (rejected) throw rejected.reason;
  return done;
}

async function insertBatch(db: Db, campaignId: string, batch: CodeBatch, jobId: string | undefined) {
  try {
    return await insertCodeBatch(db, campaignId, batch, jobId);
  } catch (error) {
    if (pgError(error)?.code === SQLSTATE.checkViolation) {
      throw new DomainError('sold-out', 'the campaign stock ran out while codes were generated');
    }
    throw error;
  }
}
