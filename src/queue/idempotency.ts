/** The header that carries a publish's idempotency key (kept, so a restart can rebuild the window). */
export const IDEMPOTENCY_HEADER = 'piper-idempotency-key'

interface Entry {
  offset: Promise<number>
  at: number
}

/**
 * Idempotency keys seen in the last `windowMs`, with the offset of their first publish. The
 * promise is kept (not the number) so a second publish racing the first gets the same answer.
 */
export class IdempotencyWindow {
  readonly windowMs: number
  // A Map iterates in insertion order, which is time order: expiry trims from the front.
  readonly #entries = new Map<string, Entry>()

  constructor(windowMs: number) {
    this.windowMs = windowMs
  }

  get size(): number {
    return this.#entries.size
  }

  lookup(key: string, now: number): Promise<number> | undefined {
    for (const [oldKey, entry] of this.#entries) {
      if (now - entry.at < this.windowMs) break
      this.#entries.delete(oldKey)
    }
    return this.#entries.get(key)?.offset
  }

  remember(key: string, offset: Promise<number>, at: number): void {
    this.#entries.set(key, { offset, at })
    // A failed publish is forgotten, so retrying it can succeed.
    offset.catch(() => {
      if (this.#entries.get(key)?.offset === offset) this.#entries.delete(key)
    })
  }
}
