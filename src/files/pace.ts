import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Keeps background work (the GC's checks, the scrub's reads) at most `perSecond` units a second
 * since it began: `spend(n)` waits until the units spent so far are due.
 */
export class Pace {
  readonly #perSecond: number
  readonly #start = performance.now()
  #spent = 0

  constructor(perSecond: number) {
    this.#perSecond = perSecond
  }

  async spend(units: number, signal?: AbortSignal): Promise<void> {
    this.#spent += units
    const due = (this.#spent / this.#perSecond) * 1000 - (performance.now() - this.#start)
    if (due > 0) await sleep(due, undefined, { signal }).catch(() => {})
  }
}
