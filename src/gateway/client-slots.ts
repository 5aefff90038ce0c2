import { HttpError } from './errors.ts'

/**
 * At most `max` of something at once per client (uploads, event streams): `take` returns the
 * release, or throws 429 naming the limit. Releasing twice is harmless.
 */
export class ClientSlots {
  readonly #max: number
  readonly #what: string
  readonly #setting: string
  readonly #held = new Map<string, number>()

  constructor(max: number, what: string, setting: string) {
    this.#max = max
    this.#what = what
    this.#setting = setting
  }

  take(client: string): () => void {
    const held = this.#held.get(client) ?? 0
    if (held >= this.#max) {
      throw new HttpError(
        429,
        'E_TOO_MANY',
        `at most ${this.#max} ${this.#what} at once per client (${this.#setting}); wait for one to end`,
      )
    }
    this.#held.set(client, held + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const now = (this.#held.get(client) ?? 1) - 1
      if (now === 0) this.#held.delete(client)
      else this.#held.set(client, now)
    }
  }
}
