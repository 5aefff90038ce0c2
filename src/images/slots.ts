/**
 * A counting semaphore: at most `size` holders at once; the rest wait in order. Image tasks take
 * one while they hold an image's bytes and pixels, so memory is bounded by the slots, not by how
 * many tasks of how many kinds the workers run.
 */
export class Slots {
  readonly size: number
  #busy = 0
  readonly #waiting: (() => void)[] = []

  constructor(size: number) {
    this.size = Math.max(1, size)
  }

  /** Waits for a slot; the function returned gives it back (once). */
  async take(): Promise<() => void> {
    while (this.#busy >= this.size) await new Promise<void>((wake) => this.#waiting.push(wake))
    this.#busy++
    let given = false
    return () => {
      if (given) return
      given = true
      this.#busy--
      this.#waiting.shift()?.()
    }
  }
}
