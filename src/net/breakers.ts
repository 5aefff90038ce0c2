import type { Logger } from '../telemetry/index.ts'
import { type BreakerState, DependencyBreaker } from './dependency-breaker.ts'

/** What a dependency's breaker counts as a failure, and the error its calls get while open. */
export interface BreakerPolicy {
  counts: (error: unknown) => boolean
  refused: (message: string) => Error
}

/**
 * The circuit breakers of one process, one per remote dependency (`meta`, `queue`, `blobs`,
 * `node:<name>` for each storage node), made by the adapters as they connect and shared with
 * `/metrics` and `/readyz`. Every change of state is logged (a warning when one opens).
 */
export class Breakers {
  readonly #made = new Map<string, DependencyBreaker>()
  readonly #resetMs: number
  readonly #log: Logger | undefined

  constructor(options: { resetMs: number; logger?: Logger }) {
    this.#resetMs = options.resetMs
    this.#log = options.logger
  }

  /** The breaker of `name`, made on first use with `policy` (later uses share it). */
  of(name: string, policy: BreakerPolicy): DependencyBreaker {
    let breaker = this.#made.get(name)
    if (!breaker) {
      breaker = new DependencyBreaker(name, {
        ...policy,
        resetMs: this.#resetMs,
        onChange: (dependency: string, state: BreakerState) =>
          this.#log?.[state === 'open' ? 'warn' : 'info']({ dependency, state }, 'circuit breaker'),
      })
      this.#made.set(name, breaker)
    }
    return breaker
  }

  get(name: string): DependencyBreaker | undefined {
    return this.#made.get(name)
  }

  /** Every breaker made so far. */
  all(): DependencyBreaker[] {
    return [...this.#made.values()]
  }
}
