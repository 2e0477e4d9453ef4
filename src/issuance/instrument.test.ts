import { describe, expect, it } from 'vitest';
import { DomainError } from '../errors.js';
import { metrics } from '../metrics/metrics.js';
import { instrumentStrategy } from './instrument.js';
import type { ClaimRequest, IssuanceStrategy } from './strategies/types.js';

/** A strategy with one unit of stock and an extra member, as Redis strategies have hooks. */
class OneUnit implements IssuanceStrategy {
  readonly name = 'db-atomic' as const;
  private left = 1;
  changes = 0;
  async claim({ claimId }: ClaimRequest) {
    if (this.left === 0) throw new DomainError('sold-out');
    this.left -= 1;
    return { status: 'pending' as const, claimId, position: 1 };
  }
  async onCampaignChange() {
    this.changes += 1;
  }
}

const count = async (outcome: string) =>
  (await metrics.claims.get()).values.find(
    (v) => v.labels.strategy === 'db-atomic' && v.labels.outcome === outcome,
  )?.value ?? 0;

describe('instrumentStrategy', () => {
  it('passes outcomes and rejections through unchanged and counts both', async () => {
    const strategy = instrumentStrategy(new OneUnit());
    const request = { campaignId: 'c', userId: 'u', claimId: 'k' };
    const [pending, soldOut] = [await count('pending'), await count('sold-out')];
    await expect(strategy.claim(request)).resolves.toEqual({ status: 'pending', claimId: 'k', position: 1 });
    await expect(strategy.claim(request)).rejects.toMatchObject({ code: 'sold-out' });
    expect(await count('pending')).toBe(pending + 1);
    expect(await count('sold-out')).toBe(soldOut + 1);
  });

  it('keeps the other members of the strategy, bound to it', async () => {
    const original = new OneUnit();
    const strategy = instrumentStrategy(original);
    await strategy.onCampaignChange();
    expect(original.changes).toBe(1);
    expect(strategy.name).toBe('db-atomic');
  });
});
