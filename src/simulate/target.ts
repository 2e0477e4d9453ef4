/**
 * The server a simulation runs against: Stampede started by the composition root on an
 * ephemeral port (src/app/simulation-target.ts), or a remote server given by URL and token.
 */
import type { StrategyName } from '../config.js';
import type { DatabaseTruth } from './invariants.js';

export interface SimulationTarget {
  mode: 'in-process' | 'remote';
  /** Base URL, e.g. http://127.0.0.1:41234. */
  url: string;
  /** Admin bearer token: creates the campaign, claims and redeems for the simulated users. */
  token: string;
  engine: 'pglite' | 'postgres' | 'unknown';
  /** The in-process server's strategy; undefined for a remote server. */
  strategy: StrategyName | undefined;
  /**
   * Reads the invariants' figures from the database (src/simulate/invariants.ts); undefined when
   * the simulator cannot see the database (a remote server).
   */
  readTruth: ((campaignId: string, acknowledgedIds: readonly string[]) => Promise<DatabaseTruth>) | undefined;
  /**
   * Resolves once every acknowledged claim is persisted; called only when some claims were
   * answered 202 (pending). An in-process admitting strategy (redis-gate) waits for its workers
   * here. Undefined: the simulator polls `GET /v1/campaigns/{id}` until `issuedCount` reaches the
   * acknowledged count or stops moving (see simulate.ts).
   */
  waitForSettled?: ((acknowledgedClaimIds: readonly string[]) => Promise<void>) | undefined;
  close(): Promise<void>;
}

/**
 * A remote Stampede server. Pending (202) claims are waited for through the campaign's
 * `issuedCount` unless `waitForSettled` says how; the missing-claim figure compares counts only.
 */
export function remoteTarget(
  url: string,
  token: string,
  waitForSettled?: SimulationTarget['waitForSettled'],
): SimulationTarget {
  return {
    mode: 'remote',
    url: url.replace(/\/+$/, ''),
    token,
    engine: 'unknown',
    strategy: undefined,
    readTruth: undefined,
    waitForSettled,
    close: async () => {},
  };
}
