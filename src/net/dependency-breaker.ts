import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel'

export type BreakerState = 'closed' | 'open' | 'half-open'

export interface DependencyBreakerOptions {
  /** Failures in a row that open the circuit. */
  failures?: number
  /** How long it stays open before one call may try again (half-open). */
  resetMs: number
  /** Whether an error counts against the dependency (a missing key does not; a refused connection does). */
  counts: (error: unknown) => boolean
  /** The error a call gets while the circuit is open. */
  refused: (message: string) => Error
  /** Told of every change of state (for the log). */
  onChange?: (name: string, state: BreakerState) => void
}

function stateName(state: CircuitState): BreakerState {
  if (state === CircuitState.Closed) return 'closed'
  return state === CircuitState.HalfOpen ? 'half-open' : 'open'
}

/**
 * A circuit breaker around one remote dependency (cockatiel's): after `failures` failures in a
 * row, calls fail at once for `resetMs` instead of each waiting out its own timeouts and
 * retries; then one call may try, and its outcome closes or reopens the circuit. Its state is in
 * `/metrics` (`piper_dependency_circuit_state`) and, while not closed, in `/readyz`.
 */
export class DependencyBreaker {
  readonly name: string
  readonly #policy: ReturnType<typeof circuitBreaker>
  readonly #o: DependencyBreakerOptions

  constructor(name: string, options: DependencyBreakerOptions) {
    this.name = name
    this.#o = options
    this.#policy = circuitBreaker(handleWhen(options.counts), {
      halfOpenAfter: options.resetMs,
      breaker: new ConsecutiveBreaker(options.failures ?? 5),
    })
    this.#policy.onStateChange((state) => options.onChange?.(this.name, stateName(state)))
  }

  get state(): BreakerState {
    return stateName(this.#policy.state)
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await this.#policy.execute(call)
    } catch (error) {
      if (!(error instanceof BrokenCircuitError)) throw error
      throw this.#o.refused(
        `${this.name}: the circuit is open after ${this.#o.failures ?? 5} failures in a row; the next call tries again ${this.#o.resetMs} ms after it opened`,
      )
    }
  }
}
