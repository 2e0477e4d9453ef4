/**
 * The contract every issuance strategy fulfils, checked by the conformance suite
 * (test/conformance): N concurrent claims against a stock S issue exactly min(N users, S)
 * coupons, no user above the per-user limit, none outside the window or on a non-active campaign.
 */
import type { Campaign } from '../../campaigns/model.js';
import type { StrategyName } from '../../config.js';
import type { Coupon } from '../../coupons/model.js';

export interface ClaimRequest {
  campaignId: string;
  userId: string;
  /** Becomes the coupon id, so persisting one claim twice is a no-op. */
  claimId: string;
}

/** `issued`: synchronous strategies; `pending`: admitted by the gate, persisted later by a worker. */
export type ClaimOutcome =
  | { status: 'issued'; claimId: string; coupon: Coupon }
  | { status: 'pending'; claimId: string; position: number };

export interface IssuanceStrategy {
  readonly name: StrategyName;
  /**
   * True when the strategy applies the per-user claim rate limit itself (redis-gate, in its
   * admission script), so the app does not wrap it in @fastify/rate-limit's.
   */
  readonly limitsClaimRate?: boolean;
  /**
   * Admits or rejects one claim.
   * @throws DomainError `not-found`, `campaign-not-active`, `already-claimed`, `sold-out`,
   *   `rate-limited` (strategies that limit the claim rate themselves),
   *   or `service-unavailable` when a dependency (Redis) cannot be reached.
   */
  claim(request: ClaimRequest): Promise<ClaimOutcome>;
  /** Called after each committed campaign write (redis-gate keeps its gate in step). */
  onCampaignChange?(campaign: Campaign): Promise<void>;
  /**
   * A claim admitted but not yet persisted (redis-gate), or undefined.
   * @throws when the store of pending claims (Redis) cannot be reached.
   */
  findPendingClaim?(claimId: string): Promise<PendingClaim | undefined>;
}

/** A claim admitted by the gate and waiting for a worker. */
export interface PendingClaim {
  claimId: string;
  campaignId: string;
  userId: string;
  /** Place in line (admission sequence number, from 1). */
  position: number;
}
