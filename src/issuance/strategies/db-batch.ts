/**
 * `db-batch`: group commit for the database engines (DESIGN.md strategy 5). Per campaign, this
 * process sends one claim statement at a time; the claims that arrive while it runs wait, in
 * arrival order, and the next statement admits up to `maxBatch` of them together
 * ({@link issueBatch}): one insert of their coupons, one `issued_count` bump, one durable commit.
 * No timer: a batch starts at the end of the event-loop turn in which its first claim arrived
 * (`setImmediate`), so a lone claim goes at once; under load, batches grow by themselves to what
 * arrived during the previous commit. The hot campaign row is then locked once per batch instead
 * of once per claim (the idea behind AliSQL's inventory hint and group commit).
 *
 * Each claim gets its own answer after the commit that holds it: its coupon, or the rejection a
 * sequential run would have given it ({@link claimRejection} on the stock and holdings left by the
 * earlier claims of the batch). When the statement fails — a race with another process on the
 * stock or on a user's slot, or one claim's bad row — the batch's claims are decided one by one
 * by db-atomic, in order, so one claim's error never fails the others.
 */

import { setImmediate } from 'node:timers/promises';
import { type Coupon, couponFromRow } from '../../coupons/model.js';
import { type Db, pgError } from '../../db/client.js';
import { DomainError } from '../../errors.js';
import { claimRejection } from '../rules.js';
import { type BatchClaimRow, claimStateFromRow, issueBatch } from '../sql.js';
import { DbAtomicStrategy } from './db-atomic.js';
import type { ClaimOutcome, ClaimRequest, IssuanceStrategy } from './types.js';

export interface DbBatchOptions {
  /** Claims admitted by one statement at most (CLAIM_BATCH_MAX). */
  maxBatch: number;
}

/** A claim waiting for its batch, with the callbacks of the promise its caller holds. */
interface Waiting {
  request: ClaimRequest;
  resolve(outcome: ClaimOutcome): void;
  reject(error: unknown): void;
}

/** The claims of one campaign waiting for the next batch; `busy` while a batch runs. */
interface Lane {
  waiting: Waiting[];
  busy: boolean;
}

export class DbBatchStrategy implements IssuanceStrategy {
  readonly name = 'db-batch' as const;
  private readonly lanes = new Map<string, Lane>();
  private readonly oneByOne: DbAtomicStrategy;

  constructor(
    private readonly db: Db,
    private readonly options: DbBatchOptions,
  ) {
    this.oneByOne = new DbAtomicStrategy(db);
  }

  claim(request: ClaimRequest): Promise<ClaimOutcome> {
    return new Promise((resolve, reject) => {
      let lane = this.lanes.get(request.campaignId);
      if (!lane) {
        lane = { waiting: [], busy: false };
        this.lanes.set(request.campaignId, lane);
      }
      lane.waiting.push({ request, resolve, reject });
      if (!lane.busy) void this.drain(request.campaignId, lane);
    });
  }

  /** Runs batches of the lane's claims, oldest first, until none is waiting. Never throws. */
  private async drain(campaignId: string, lane: Lane): Promise<void> {
    lane.busy = true;
    for (;;) {
      // Each batch starts at the end of an event-loop turn, once the requests read in that turn
      // have queued their claims. Without this, on PGlite (which runs its statements on this
      // thread) every batch would start at the first claim of a turn and hold it alone.
      await setImmediate();
      if (lane.waiting.length === 0) break;
      const batch = lane.waiting.splice(0, this.options.maxBatch);
      try {
        await this.admit(campaignId, batch);
      } catch (error) {
        // A bug, not a database answer: fail this batch's claims, keep the lane moving.
        for (const waiting of batch) waiting.reject(error);
      }
    }
    lane.busy = false;
    this.lanes.delete(campaignId);
  }

  /** Decides one batch and settles each of its claims. */
  private async admit(campaignId: string, batch: Waiting[]): Promise<void> {
    let result: Awaited<ReturnType<typeof issueBatch>>;
    try {
      result = await issueBatch(
        this.db,
        campaignId,
        batch.map(({ request }) => ({ claimId: request.claimId, userId: request.userId })),
      );
    } catch (error) {
      // No SQLSTATE: the database was not reached, and would not be for any one claim either.
      if (!pgError(error)) for (const waiting of batch) waiting.reject(error);
      else await this.admitOneByOne(batch);
      return;
    }
    if (result.kind === 'unknown-campaign') {
      for (const waiting of batch)
        waiting.reject(new DomainError('not-found', `campaign ${campaignId} does not exist`));
      return;
    }
    const answers = batchAnswers(result.state, result.claims);
    batch.forEach((waiting, i) => {
      const answer = answers[i]!;
      if (answer instanceof Error) waiting.reject(answer);
      else waiting.resolve({ status: 'issued', claimId: waiting.request.claimId, coupon: answer });
    });
  }

  /** The fallback after a failed batch statement: db-atomic per claim, in arrival order. */
  private async admitOneByOne(batch: Waiting[]): Promise<void> {
    for (const waiting of batch) {
      try {
        waiting.resolve(await this.oneByOne.claim(waiting.request));
      } catch (error) {
        waiting.reject(error);
      }
    }
  }
}

/**
 * Each claim's answer, by position: its coupon, or the rejection a sequential run would have
 * named — judged with the stock and the user's holdings left by the claims admitted before it.
 */
export function batchAnswers(
  stateRow: Parameters<typeof claimStateFromRow>[0],
  claims: BatchClaimRow[],
): (Coupon | Error)[] {
  const state = claimStateFromRow(stateRow);
  const admittedOf = new Map<string, number>();
  let admitted = 0;
  return claims.map(({ userId, held, coupon }) => {
    if (coupon) {
      admitted++;
      admittedOf.set(userId, (admittedOf.get(userId) ?? 0) + 1);
      return couponFromRow(coupon);
    }
    const before = { ...state, issuedCount: state.issuedCount + admitted };
    return (
      claimRejection(before, held + (admittedOf.get(userId) ?? 0), state.now) ??
      new Error('claim rejected for no known reason')
    );
  });
}
