/** A real strategy with a count of the claims that reached it. */
import type { Db } from '../../src/db/client.js';
import { DbAtomicStrategy } from '../../src/issuance/strategies/db-atomic.js';
import type { IssuanceStrategy } from '../../src/issuance/strategies/types.js';

/**
 * The real db-atomic strategy, counting the claims that reach it: tells a claim refused before
 * the strategy (by the campaign cache) from one the strategy decided.
 */
export function countedDbAtomic(db: Db): IssuanceStrategy & { readonly calls: number } {
  const real = new DbAtomicStrategy(db);
  let calls = 0;
  return {
    name: real.name,
    get calls() {
      return calls;
    },
    claim: (request) => {
      calls++;
      return real.claim(request);
    },
  };
}
