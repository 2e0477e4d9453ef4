/**
 * The per-user claim rate limit as a decorator around a strategy that does not limit the claim
 * rate itself (all but redis-gate, whose script does: `limitsClaimRate`). Placed inside the
 * campaign cache's pre-check (src/issuance/cached-precheck.ts), so a claim the cache refuses
 * never reaches the limiter's Redis counter; what counts and why: src/http/rate-limit.ts.
 */
import type { ClaimRateLimiter } from '../http/rate-limit.js';
import { decorateClaim } from './strategies/decorate.js';
import type { ClaimOutcome, ClaimRequest, IssuanceStrategy } from './strategies/types.js';

/**
 * Returns `strategy` with each claim first counted by `limit` for its user.
 * @throws (claim) DomainError `rate-limited` from `limit`, else whatever the strategy throws.
 */
export function withClaimRateLimit<S extends IssuanceStrategy>(strategy: S, limit: ClaimRateLimiter): S {
  const claim = async (request: ClaimRequest): Promise<ClaimOutcome> => {
    await limit(request.userId);
    return strategy.claim(request);
  };
  return decorateClaim(strategy, claim);
}
