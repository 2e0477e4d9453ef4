/**
 * `redis-gate`: one Lua script (src/gate/scripts/admitClaim.lua) admits or rejects a claim and,
 * when admitted, bumps the user's count and the campaign's issued counter and XADDs the claim to
 * the campaign's stream — one EVALSHA per claim, no dual write. The API answers 202 with the
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
import { admitClaimArgs, GATE_SCRIPTS, gateOutcome, parsePendingRecord } from './scripts.js';

/** Gate script attempts per claim: the first may find the gate not loaded; then it is loaded. */
const MAX_ATTEMPTS = 3;

export class RedisGateStrategy implements IssuanceStrategy {
  readonly name = 'redis-gate' as const;
  private readonly loader: GateLoader;

  constructor(
    db: Db,
    private readonly redis: RedisConnection,
    /** The circuit breaker of this strategy's Redis calls (state for metrics). */
    readonly breaker: RedisBreaker,
    options: { loadWaitMs: number },
  ) {
    this.loader = new GateLoader(db, redis, options.loadWaitMs);
  }

  async claim(request: ClaimRequest): Promise<ClaimOutcome> {
    const keys = this.redis.keys.campaign(request.campaignId);
    const args = admitClaimArgs(keys, request);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const reply = await this.breaker.run(() =>
        runScript<(number | string)[]>(this.redis.client, GATE_SCRIPTS.admitClaim, args),
      );
      const result = gateOutcome(reply, request.campaignId);
      if (result.kind === 'admitted') {
        return { status: 'pending', claimId: request.claimId, position: result.position };
      }
      await this.breaker.run(() => this.loader.ensureLoaded(request.campaignId));
    }
    throw new DomainError('service-unavailable', 'the campaign gate could not be loaded', {
      retryAfterSeconds: 1,
    });
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
