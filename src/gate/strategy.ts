/**
 * `redis-gate`: one Lua script admits or rejects claims and, for each admitted one, bumps the
 * user's count and the campaign's issued counter and XADDs the claim to the campaign's stream —
 * no dual write. The claims of one campaign that reach this process in one event-loop turn go in
 * one call (src/gate/scripts/admitClaims.lua, at most 256): one round trip for all of them, each
 * judged in arrival order on the state the claims before it left. The API answers 202 with the
 * place in line; workers (src/gate/worker.ts) persist the claim later.
 *
 * Finding a claim by id alone (`GET /v1/claims/{id}`): the gate script also records the pending
 * claim in its campaign's `claims` hash (same slot, same atomic step, so the record exists before
 * the client learns the id). The campaign is not part of the id, so {@link findPendingClaim} asks
 * every campaign in the stream registry (`HGET <p>{c:<id>}:claims <claimId>`, auto-pipelined: one
 * round trip per Redis node). The registry holds only campaigns that can still have pending
 * claims — workers drop ended and deleted campaigns once their stream is empty — so this stays a
 * handful of lookups; GET is polled far less than claims are made, and claims pay nothing for it.
 * The worker deletes the record only after the claim is committed to PostgreSQL (or dead-lettered),
 * so a lookup that misses Redis finds the claim in PostgreSQL.
 *
 * The per-user claim rate limit (CLAIM_RATE_LIMIT_*) is checked and counted by the same script
 * call ({@link RedisGateStrategy.limitsClaimRate}), not by a separate Redis call per claim as
 * @fastify/rate-limit does for the other strategies: see src/http/rate-limit.ts for what counts
 * and where the two differ.
 */
import type { Campaign } from '../campaigns/model.js';
import type { Db } from '../db/client.js';
import { DomainError } from '../errors.js';
import type {
  ClaimOutcome,
  ClaimRequest,
  IssuanceStrategy,
  PendingClaim,
} from '../issuance/strategies/types.js';
import type { RedisBreaker } from '../redis/breaker.js';
import type { RedisConnection } from '../redis/connection.js';
import { runScript } from '../redis/scripts.js';
import { GateLoader, syncGate } from './loader.js';
import {
  admitClaimsArgs,
  GATE_SCRIPTS,
  type GateRateLimit,
  gateBatchReplies,
  gateOutcome,
  NO_RATE_LIMIT,
  parsePendingRecord,
} from './scripts.js';

/** Gate script attempts per batch: the first may find the gate not loaded; then it is loaded. */
const MAX_ATTEMPTS = 3;
/** Claims admitted by one script call at most (bounds the time Redis spends in one script). */
const MAX_BATCH = 256;

/** A claim waiting for its campaign's next script call. */
interface Waiting {
  request: ClaimRequest;
  resolve(outcome: ClaimOutcome): void;
  reject(error: unknown): void;
}

/** Settles one claim of a batch from its reply. */
function settle(waiting: Waiting, reply: readonly (number | string)[], campaignId: string): void {
  try {
    const result = gateOutcome(reply, campaignId);
    if (result.kind === 'admitted') {
      waiting.resolve({ status: 'pending', claimId: waiting.request.claimId, position: result.position });
    } else {
      waiting.reject(new DomainError('internal', 'the gate answered "not loaded" for one claim of a batch'));
    }
  } catch (error) {
    waiting.reject(error);
  }
}

export class RedisGateStrategy implements IssuanceStrategy {
  readonly name = 'redis-gate' as const;
  /** The claim rate limit is applied inside the gate script, so the app adds none around it. */
  readonly limitsClaimRate = true;
  private readonly loader: GateLoader;
  private readonly rateLimit: GateRateLimit;
  /** Claims per campaign waiting for the script call at the end of this event-loop turn. */
  private readonly waiting = new Map<string, Waiting[]>();

  constructor(
    db: Db,
    private readonly redis: RedisConnection,
    /** The circuit breaker of this strategy's Redis calls (state for metrics). */
    readonly breaker: RedisBreaker,
    /** `claimRateLimit`: the per-user claim rate limit (none when absent or `max` 0). */
    options: { loadWaitMs: number; claimRateLimit?: GateRateLimit },
  ) {
    this.loader = new GateLoader(db, redis, options.loadWaitMs);
    this.rateLimit = options.claimRateLimit ?? NO_RATE_LIMIT;
  }

  /**
   * Queues the claim for its campaign's next script call: the claims of one campaign that arrive
   * in one event-loop turn are admitted together by admitClaims.lua, one round trip for all, and
   * each gets its own answer.
   */
  claim(request: ClaimRequest): Promise<ClaimOutcome> {
    return new Promise((resolve, reject) => {
      let queue = this.waiting.get(request.campaignId);
      if (!queue) {
        queue = [];
        this.waiting.set(request.campaignId, queue);
        setImmediate(() => this.flush(request.campaignId));
      }
      queue.push({ request, resolve, reject });
    });
  }

  private flush(campaignId: string): void {
    const queue = this.waiting.get(campaignId) ?? [];
    this.waiting.delete(campaignId);
    for (let i = 0; i < queue.length; i += MAX_BATCH)
      void this.admit(campaignId, queue.slice(i, i + MAX_BATCH));
  }

  /** One script call for `batch` (after loading the gate when it is not loaded); settles each claim. */
  private async admit(campaignId: string, batch: Waiting[]): Promise<void> {
    try {
      const { keysAndArgs, numberOfKeys } = admitClaimsArgs(
        this.redis.keys.campaign(campaignId),
        campaignId,
        batch.map((waiting) => waiting.request),
        this.rateLimit,
      );
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const reply = await this.breaker.run(() =>
          runScript<unknown[]>(this.redis.client, GATE_SCRIPTS.admitClaims, keysAndArgs, numberOfKeys),
        );
        const replies = gateBatchReplies(reply, campaignId);
        if (replies) {
          for (const [i, waiting] of batch.entries()) settle(waiting, replies[i] ?? [], campaignId);
          return;
        }
        await this.breaker.run(() => this.loader.ensureLoaded(campaignId));
      }
      throw new DomainError('service-unavailable', 'the campaign gate could not be loaded', {
        retryAfterSeconds: 1,
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }

  /** Applies a committed campaign write to the gate (CampaignService.onChange). */
  onCampaignChange(campaign: Campaign): Promise<void> {
    return syncGate(this.redis, campaign);
  }

  async findPendingClaim(claimId: string): Promise<PendingClaim | undefined> {
    const client = this.redis.client;
    const campaignIds = await client.smembers(this.redis.keys.streamRegistry);
    const records = await Promise.all(
      campaignIds.map((id) => client.hget(this.redis.keys.campaign(id).claims, claimId)),
    );
    const index = records.findIndex((record) => record !== null);
    if (index < 0) return undefined;
    const { position, userId } = parsePendingRecord(records[index]!);
    return { claimId, campaignId: campaignIds[index]!, userId, position };
  }
}
