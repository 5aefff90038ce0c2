import type { BucketAnswer } from './rate-buckets.ts'
import type { SqlDriver } from './sql-driver.ts'

/**
 * Takes a token in one statement, so gateways racing on one bucket never both spend its last
 * token: the row is refilled to `now` and decremented only where a whole token is there. Not
 * durable (no fsync per request): a bucket lost in a crash only starts full again.
 */
export async function takeToken(
  driver: SqlDriver,
  key: string,
  limit: { perMinute: number; burst: number },
  now: number,
): Promise<BucketAnswer> {
  const [least, greatest] = driver.dialect === 'postgres' ? ['LEAST', 'GREATEST'] : ['min', 'max']
  // A clock that went back (another gateway's, NTP) refills nothing rather than drains.
  const refilled = `${least}($2, rate_buckets.tokens + ${greatest}(0, $3 - rate_buckets.updated) * $4 / 60000.0)`
  return driver.transaction(
    async (tx) => {
      const rows = await tx.all(
        `INSERT INTO rate_buckets (key, tokens, updated) VALUES ($1, $2 - 1, $3)
     ON CONFLICT (key) DO UPDATE SET tokens = ${refilled} - 1,
       updated = ${greatest}($3, rate_buckets.updated)
       WHERE ${refilled} >= 1
     RETURNING tokens`,
        [key, limit.burst, now, limit.perMinute],
      )
      if (rows.length > 0) return { taken: true } as const
      const [row] = await tx.all('SELECT tokens, updated FROM rate_buckets WHERE key = $1', [key])
      const tokens = Math.min(
        limit.burst,
        Number(row?.tokens ?? 0) +
          (Math.max(0, now - Number(row?.updated ?? now)) * limit.perMinute) / 60_000,
      )
      return {
        taken: false,
        retryAfterMs: Math.ceil(((1 - tokens) * 60_000) / limit.perMinute),
      } as const
    },
    { durable: false },
  )
}
