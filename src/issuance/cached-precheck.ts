/**
 * Fast rejection of claims from the campaign cache, as a decorator around any strategy: a claim
 * on a campaign that the cache knows to be unknown, not active, outside its window or sold out
 * is refused without reaching the strategy (and its database or Redis round trips) — the bulk of
 * a flash crowd arrives before the opening or after the stock is gone.
 *
 * Only rejections come from the cache; admission is always the strategy's authoritative
 * decision, so a stale cache can never over-issue. A claim the strategy rejects as sold out while
 * the cache still showed stock refreshes the cache (seed 003: refresh when the stock runs out),
 * once at a time per campaign. The window is judged on this process's clock here and on the
 * database's clock by the strategy; they agree up to the clock skew between the two.
 */
import type { CampaignCache } from '../campaigns/cache.js';
import { DomainError } from '../errors.js';
import { claimRejection } from './rules.js';
import { decorateClaim } from './strategies/decorate.js';
import type { ClaimOutcome, ClaimRequest, IssuanceStrategy } from './strategies/types.js';

export function withCachedPrecheck<S extends IssuanceStrategy>(
  strategy: S,
  cache: CampaignCache,
  onError: (error: unknown) => void = () => {},
): S {
  const refreshing = new Set<string>();
  const claim = async (request: ClaimRequest): Promise<ClaimOutcome> => {
    const campaign = await cache.get(request.campaignId);
    if (!campaign) throw new DomainError('not-found', `campaign ${request.campaignId} does not exist`);
    // The user's holdings are not cached: 0 lets the per-user limit to the strategy.
    const rejection = claimRejection(campaign, 0, new Date());
    if (rejection) throw rejection;
    try {
      return await strategy.claim(request);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'sold-out' && !refreshing.has(campaign.id)) {
        refreshing.add(campaign.id);
        cache
          .refresh(campaign.id)
          .catch(onError)
          .finally(() => refreshing.delete(campaign.id));
      }
      throw error;
    }
  };
  return decorateClaim(strategy, claim);
}
