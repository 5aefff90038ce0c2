/** A bucket's answer: taken, or not with the time until a token is there. */
export type BucketAnswer = { taken: true } | { taken: false; retryAfterMs: number }

/**
 * The token buckets port: a bucket per key holds up to `burst` tokens, refilled at
 * `perMinute` a minute; each request takes one. Shared by every gateway of a deployment (the
 * SQL adapters keep it in the database); `now` comes from the caller (tests move it).
 */
export interface RateBuckets {
  takeToken(
    key: string,
    limit: { perMinute: number; burst: number },
    now: number,
  ): Promise<BucketAnswer>
}
