/** Campaign inputs for tests and benchmarks that create campaigns below the HTTP layer. */
import type { NewCampaign } from '../../src/campaigns/repository.js';

/** An active campaign of stock 100, one per user, no window, no expiry, 5.00 off; `overrides` replace fields. */
export function campaignInput(overrides: Partial<NewCampaign> = {}): NewCampaign {
  return {
    name: 'test campaign',
    status: 'active',
    totalQuantity: 100,
    perUserLimit: 1,
    startsAt: null,
    endsAt: null,
    couponValidity: null,
    discount: { type: 'fixed', amount: 500 },
    minOrderAmount: null,
    ...overrides,
  };
}
