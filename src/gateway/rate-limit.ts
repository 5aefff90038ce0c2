import type { RateBuckets } from '../meta/index.ts'
import { HttpError } from './errors.ts'

/** Requests a client may make: `perMinute` on average, up to `burst` at once; 0: no limit. */
export interface RateLimitOptions {
  buckets: RateBuckets
  perMinute: number
  burst: number
  /** The clock (tests move it); default `Date.now`. */
  now?: () => number
}

/**
 * A token bucket per client (by API key's client), kept in the metadata store so that every
 * gateway of a deployment spends from the same one. Over the limit: 429 `E_RATE_LIMITED` with
 * `Retry-After` (RFC 9110 §10.2.3) saying when the next token is there.
 */
export class RateLimit {
  readonly #o: RateLimitOptions

  constructor(options: RateLimitOptions) {
    this.#o = options
  }

  async take(client: string): Promise<void> {
    const { perMinute, burst } = this.#o
    if (perMinute <= 0) return
    const answer = await this.#o.buckets.takeToken(
      `client:${client}`,
      { perMinute, burst },
      (this.#o.now ?? Date.now)(),
    )
    if (answer.taken) return
    throw Object.assign(
      new HttpError(
        429,
        'E_RATE_LIMITED',
        `client ${client} is over its rate limit (${perMinute} requests a minute, ${burst} at once); retry after the Retry-After seconds`,
      ),
      { retryAfterSeconds: Math.max(1, Math.ceil(answer.retryAfterMs / 1000)) },
    )
  }
}
