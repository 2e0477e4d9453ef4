/**
 * `simulate` against a strategy that answers 202 (pending) and persists later, as redis-gate does:
 * the simulator must wait for persistence before it checks the database or the campaign counter.
 */
import { describe, expect, it } from 'vitest';
import type { IssuancePluginFactory } from '../../src/app/simulation-target.js';
import { findCampaign } from '../../src/campaigns/repository.js';
import { DomainError } from '../../src/errors.js';
import { DbAtomicStrategy } from '../../src/issuance/strategies/db-atomic.js';
import type { ClaimRequest, IssuanceStrategy } from '../../src/issuance/strategies/types.js';
import { planClaims } from '../../src/simulate/plan.js';
import { remoteTarget } from '../../src/simulate/target.js';
import { expectConsistent, SMALL, simulateOn } from './helpers.js';

/**
 * An admitting strategy for the 202 path, shaped like redis-gate: it decides at once from counters
 * it keeps (stock and per-user holdings, one process) and answers pending; its "worker" starts
 * persisting (through db-atomic, one claim after the other) only once it has answered
 * `burstSize` claims, so every coupon is still unpersisted when the burst ends and the simulator
 * has to wait. `waitForSettled` resolves when the worker's queue is drained.
 */
function deferredIssuance(burstSize: number, persisted: { count: number }): IssuancePluginFactory {
  return async (database) => {
    const persist = new DbAtomicStrategy(database.db);
    const counters = new Map<string, { issued: number; byUser: Map<string, number> }>();
    const waiting: ClaimRequest[] = [];
    let answered = 0;
    let worker: Promise<void> = Promise.resolve();
    const answer = () => {
      if (++answered !== burstSize) return;
      worker = (async () => {
        for (const request of waiting) {
          await persist.claim(request);
          persisted.count++;
        }
      })();
    };
    const strategy: IssuanceStrategy = {
      name: 'redis-gate',
      claim: async (request: ClaimRequest) => {
        try {
          const campaign = await findCampaign(database.db, request.campaignId);
          if (!campaign) throw new DomainError('not-found');
          const state = counters.get(campaign.id) ?? { issued: 0, byUser: new Map() };
          counters.set(campaign.id, state);
          const held = state.byUser.get(request.userId) ?? 0;
          if (held >= campaign.perUserLimit) throw new DomainError('already-claimed');
          if (state.issued >= campaign.totalQuantity) throw new DomainError('sold-out');
          state.issued++;
          state.byUser.set(request.userId, held + 1);
          waiting.push(request);
          return { status: 'pending', claimId: request.claimId, position: state.issued };
        } finally {
          answer();
        }
      },
    };
    return { strategy, waitForSettled: () => worker, close: async () => {} };
  };
}

describe('claims answered 202 (pending)', () => {
  const options = { ...SMALL, users: 120, stock: 25, seed: 17, redeemSample: 5 };
  const burstSize = planClaims(options).userOfClaim.length;

  it('waits through the strategy hook until every pending claim is persisted, then checks the database', async () => {
    const persisted = { count: 0 };
    const report = await simulateOn('postgres', options, {
      strategy: 'redis-gate',
      issuance: deferredIssuance(burstSize, persisted),
    });
    expectConsistent(report, options, 202);
    expect(persisted.count).toBe(25);
  });

  it('waits on the campaign issuedCount of a remote server until the pending claims are persisted', async () => {
    const persisted = { count: 0 };
    const report = await simulateOn('postgres', options, {
      strategy: 'redis-gate',
      issuance: deferredIssuance(burstSize, persisted),
      wrap: (target) => remoteTarget(target.url, target.token),
    });
    expectConsistent(report, options, 202);
    expect(report.truth).toBe('responses');
    expect(persisted.count).toBe(25);
  });
});
