/**
 * The circuit breaker around Redis in the claim path (cockatiel): after `failures` consecutive
 * Redis failures it opens, and claims fail fast with `service-unavailable` and `Retry-After`
 * until one trial call after `halfOpenMs` succeeds. There is no fallback: a claim that cannot
 * reach Redis is refused, never decided elsewhere (that could over-issue). Domain rejections
 * (sold out, ...) are answers, not failures, and do not count.
 */
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import { DomainError } from '../errors.js';

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

export class RedisBreaker {
  private readonly policy;
  private readonly retryAfterSeconds: number;

  constructor(options: { failures: number; halfOpenMs: number }) {
    this.policy = circuitBreaker(
      handleWhen((error) => !(error instanceof DomainError)),
      { halfOpenAfter: options.halfOpenMs, breaker: new ConsecutiveBreaker(options.failures) },
    );
    this.retryAfterSeconds = Math.max(1, Math.ceil(options.halfOpenMs / 1000));
  }

  get state(): BreakerState {
    return STATE_NAMES[this.policy.state];
  }

  /** Subscribes to state changes (for metrics and logs). */
  onStateChange(listener: (state: BreakerState) => void): void {
    this.policy.onStateChange((state) => listener(STATE_NAMES[state]));
  }

  /**
   * Runs one Redis call through the breaker.
   * @throws DomainError `service-unavailable` (with Retry-After) when the breaker is open or the
   *   call failed on Redis; domain errors thrown by `call` pass through unchanged.
   */
  async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await this.policy.execute(call);
    } catch (error) {
      if (error instanceof DomainError) throw error;
      const open = error instanceof BrokenCircuitError;
      throw new DomainError(
        'service-unavailable',
        open ? 'Redis circuit breaker is open' : 'Redis call failed',
        {
          retryAfterSeconds: open ? this.retryAfterSeconds : 1,
          cause: error,
        },
      );
    }
  }
}
