import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { KeyedMutex } from './keyed-mutex.ts'
import type { ChunkLease } from './meta-store.ts'
import type { SqlDriver } from './sql-driver.ts'

/** How long a lease lasts unless renewed; a holder renews it every third of that. */
const LEASE_MS = 60_000

/**
 * A lock per key across processes that holds no database connection while its holder works:
 * a row in `chunk_leases` naming the holder and when its lease ends, taken and renewed in short
 * transactions. (A session advisory lock held a pooled connection across a chunk's blob write
 * and fsync, so 20 uploads at once took every connection of its pool.)
 *
 * Taking a lease is one `INSERT … ON CONFLICT … WHERE` (PostgreSQL serialises takers of one key
 * on its row); a lease whose time has passed (its holder died) may be taken over. Times are the
 * database's (`clock_timestamp()`), so clocks of the processes do not matter. Holders in one process
 * queue in memory first, so only one of them asks the database.
 */
export class LeaseLock {
  readonly #driver: SqlDriver
  readonly #local = new KeyedMutex()

  constructor(driver: SqlDriver) {
    this.#driver = driver
  }

  /**
   * Runs `fn` holding the key's lease; `fn` learns whether a chunk of this key is recorded, and
   * gets the lease, which a commit of `fn` may release itself (`ChunkLease.released`).
   */
  run<T>(key: string, fn: (stored: boolean, lease: ChunkLease) => Promise<T>): Promise<T> {
    return this.#local.run(key, async () => {
      const token = randomUUID()
      const lease: ChunkLease = { key, owner: token, released: false }
      const stored = await this.#acquire(key, token)
      const renew = setInterval(() => {
        this.#driver
          .run(`UPDATE chunk_leases SET expires = ${NOW_MS} + $3 WHERE key = $1 AND owner = $2`, [
            key,
            token,
            LEASE_MS,
          ])
          .catch(() => {})
      }, LEASE_MS / 3)
      renew.unref()
      try {
        return await fn(stored, lease)
      } finally {
        clearInterval(renew)
        if (!lease.released) {
          await this.#driver
            .run('DELETE FROM chunk_leases WHERE key = $1 AND owner = $2', [key, token])
            .catch(() => {})
        }
      }
    })
  }

  /** Takes the lease; whether the chunk's row exists, read in the same statement. */
  async #acquire(key: string, token: string): Promise<boolean> {
    for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
      // One statement, one round trip: a new row, or a lease whose time has passed taken over;
      // a live lease makes the update's condition false and nothing is returned. Two takers at
      // once: the second waits on the first's row and then sees it live. The statement began
      // after the last holder's release began, so after its commit: its chunk row is seen.
      const [taken] = await this.#driver.all(
        `WITH taken AS (
           INSERT INTO chunk_leases (key, owner, expires) VALUES ($1, $2, ${NOW_MS} + $3)
             ON CONFLICT (key) DO UPDATE SET owner = $2, expires = ${NOW_MS} + $3
             WHERE chunk_leases.expires <= ${NOW_MS}
           RETURNING owner)
         SELECT EXISTS (SELECT 1 FROM chunks WHERE key = $1) AS stored FROM taken`,
        [key, token, LEASE_MS],
      )
      if (taken) return taken.stored === true
      await sleep(wait)
    }
  }
}

/** The database's time in ms since the epoch, as a bigint column holds it. */
const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint'
